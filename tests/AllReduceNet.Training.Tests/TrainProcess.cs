using System.Diagnostics;

namespace AllReduceNet.Training.Tests;

/// <summary>Train.dll as a child process (alone, or under a given mpiexec), with its output redirected to pipes as a batch system would.</summary>
internal static class TrainProcess
{
    public static string TrainDll => Path.Combine(AppContext.BaseDirectory, "Train.dll");

    /// <summary>Runs <paramref name="file"/> with <paramref name="arguments"/>; fails the test unless it exits 0 within 120 s. Returns (stdout, stderr).</summary>
    public static (string Output, string Error) Run(string file, IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} did not finish in 120 s:\n{stdout.Result}\n{stderr.Result}");
        }
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return (stdout.Result, stderr.Result);
    }

    /// <summary>The launcher's arguments for <paramref name="ranks"/> processes of Train.dll, passing <paramref name="variables"/> to every rank.</summary>
    public static List<string> MpiArguments(string launcher, int ranks, IEnumerable<string> variables)
    {
        var list = new List<string>();
        if (launcher.EndsWith("openmpi", StringComparison.Ordinal))
        {
            list.AddRange(["--oversubscribe", "--allow-run-as-root"]);
            foreach (string v in variables) list.AddRange(["-x", v]);
        }
        list.AddRange(["-n", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", TrainDll]);
        return list;
    }

    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);
}
