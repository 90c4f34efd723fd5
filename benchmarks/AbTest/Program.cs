using System.Globalization;

namespace AllReduceNet.Serving.AbTestBenchmarks;

/// <summary>
/// The A/B figures of benchmarks/RESULTS-lifecycle.md:
/// <code>dotnet AbTestBench.dll simulate --runs 200 --control 0.85 --candidate 0.85 [--horizon 20000] [--min-samples 200] [--tau 0.05] [--alpha 0.05] [--seed 1] [--peek-baseline 1]</code>
/// runs the server's own <see cref="Experiment"/> on seeded Bernoulli labels (A/A: equal rates; A/B: a real gain);
/// <code>dotnet AbTestBench.dll http --models DIR --control 1 --candidate 2 --runs 10 [--weight 50] [--min-samples 200] [--max-requests 30000] [--data DIR]</code>
/// serves the model repository DIR over real HTTP (Kestrel, loopback) and streams the Fashion-MNIST test set through
/// it with true labels as feedback until the experiment decides.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("simulate" or "http"))
        {
            Console.Error.WriteLine("usage: AbTestBench simulate|http [options]; see Program.cs or benchmarks/RESULTS-lifecycle.md.");
            return 2;
        }
        var options = Options(args.AsSpan(1));
        return args[0] == "simulate" ? Simulation.Run(options) : await HttpRuns.RunAsync(options);
    }

    private static Dictionary<string, string> Options(ReadOnlySpan<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected --name value pairs, got '{args[i]}'.");
            options[args[i][2..]] = args[i + 1];
        }
        return options;
    }

    internal static double Number(Dictionary<string, string> options, string name, double fallback) =>
        options.TryGetValue(name, out string? text) ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The nearest-rank percentile of the values (NaN when there are none).</summary>
    internal static double Percentile(IEnumerable<long> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
