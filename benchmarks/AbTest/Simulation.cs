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
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
