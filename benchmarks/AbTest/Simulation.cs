using System.Diagnostics;

namespace AllReduceNet.Serving.AbTestBenchmarks;

/// <summary>Seeded simulated experiments: labels drawn as Bernoulli(control) and Bernoulli(candidate), alternately, fed
/// to the server's <see cref="Experiment"/> after every label (the test is watched continuously) until it decides or
/// the horizon (labels per variant) is reached.</summary>
internal static class Simulation
{
    public static int Run(Dictionary<string, string> options)
    {
        int runs = (int)Program.Number(options, "runs", 200), horizon = (int)Program.Number(options, "horizon", 20_000);
        double control = Program.Number(options, "control", 0.85), candidate = Program.Number(options, "candidate", 0.85);
        int seed = (int)Program.Number(options, "seed", 1);
        var settings = new ExperimentSettings("1", "2", 50, Shadow: false, ExperimentSettings.DefaultStickyHeader,
            Program.Number(options, "alpha", ExperimentSettings.DefaultAlpha), Program.Number(options, "tau", ExperimentSettings.DefaultTau),
            (int)Program.Number(options, "min-samples", ExperimentSettings.DefaultMinSamples), AutoDecide: true, new GuardrailLimits());
        var clock = Stopwatch.StartNew();
        int promoted = 0, rolledBack = 0;
        var labelsToPromotion = new List<long>();
        for (int run = 0; run < runs; run++)
        {
            var random = new Random(seed * 1_000_003 + run);
            var experiment = new Experiment("sim", settings);
            ExperimentDecision? decision = null;
            for (int i = 0; i < horizon && decision is null; i++)
                decision = experiment.RecordLabel(Variant.Control, random.NextDouble() < control)
                    ?? experiment.RecordLabel(Variant.Candidate, random.NextDouble() < candidate);
            if (decision?.Action == "promote")
            {
                promoted++;
                labelsToPromotion.Add(decision.Evidence.Control.Labeled + decision.Evidence.Candidate.Labeled);
            }
            else if (decision?.Action == "rollback") rolledBack++;
        }
        Console.WriteLine($"simulate: {runs} runs, control {control}, candidate {candidate}, horizon {horizon} labels per variant, " +
            $"alpha {settings.Alpha}, tau {settings.Tau}, min samples {settings.MinSamples}, seed {seed}");
        Console.WriteLine($"  promoted {promoted} ({(double)promoted / runs:P1}), rolled back {rolledBack} ({(double)rolledBack / runs:P1}), " +
            $"undecided {runs - promoted - rolledBack}");
        if (labelsToPromotion.Count > 0)
            Console.WriteLine($"  labeled requests (both variants) until promotion: median {Program.Percentile(labelsToPromotion, 0.5)}, " +
                $"p90 {Program.Percentile(labelsToPromotion, 0.9)}, max {labelsToPromotion.Max()}");
        if (options.ContainsKey("peek-baseline")) PeekedZTest(runs, control, candidate, horizon, seed, settings);
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    /// <summary>The baseline the sequential test exists for: a fixed-horizon two-proportion z-test (two-sided, level
    /// alpha) looked at after every label pair from the minimum sample on, deciding at the first |z| over the critical
    /// value. Same seeds, same labels.</summary>
    private static void PeekedZTest(int runs, double control, double candidate, int horizon, int seed, ExperimentSettings settings)
    {
        const double critical = 1.959963984540054;   // two-sided 0.05
        int promoted = 0, rolledBack = 0;
        for (int run = 0; run < runs; run++)
        {
            var random = new Random(seed * 1_000_003 + run);
            long a = 0, b = 0;
            for (int n = 1; n <= horizon; n++)
            {
                if (random.NextDouble() < control) a++;
                if (random.NextDouble() < candidate) b++;
                if (n < settings.MinSamples) continue;
                double pooled = (a + b) / (2.0 * n), se = Math.Sqrt(pooled * (1 - pooled) * 2.0 / n);
                if (se == 0) continue;
                double z = ((double)b / n - (double)a / n) / se;
                if (z > critical) { promoted++; break; }
                if (z < -critical) { rolledBack++; break; }
            }
        }
        Console.WriteLine($"  baseline, z-test at alpha 0.05 peeked after every label pair: promoted {promoted} ({(double)promoted / runs:P1}), " +
            $"rolled back {rolledBack} ({(double)rolledBack / runs:P1})");
    }
}
