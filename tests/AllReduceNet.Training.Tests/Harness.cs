using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Tests;

/// <summary>Small synthetic training runs, in-process, returning the final full state.</summary>
internal static class Harness
{
    public static readonly int[] Layers = [12, 16, 8, 3];

    public static TrainTestData Data { get; } = SyntheticDataset.Create(480, 120, 12, 3, seed: 7);

    public static TrainSettings Settings(StrategyKind strategy, int ranks, int batch = 40, int epochs = 2) => new()
    {
        Strategy = strategy,
        Ranks = ranks,
        Layers = Layers,
        Device = "cpu",
        Epochs = epochs,
        BatchSize = batch,
        Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.05f, 0.9f, 0f),
        Seed = 3,
        Split = strategy == StrategyKind.Pipeline ? EvenSplit(Layers.Length - 1, ranks) : [],
        CheckpointPath = null,
        Quiet = true,
    };

    public static int[] EvenSplit(int layers, int ranks) =>
        Enumerable.Range(0, ranks).Select(s => layers * (s + 1) / ranks - layers * s / ranks).ToArray();

    public static Checkpoint Train(TrainSettings settings, TrainTestData? data = null, StringWriter? output = null)
    {
        var report = new ReportWriter(output ?? new StringWriter(), null, quiet: output is null);
        return InProcessWorld.Run(settings.Ranks, world => Trainer.Run(world, settings, data ?? Data, null, report))[0];
    }

    public static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float diff = MathF.Abs(expected[i] - actual[i]) / (1f + MathF.Abs(expected[i]));
            if (diff > worst) { worst = diff; at = i; }
        }
        Assert.True(worst <= tolerance, $"{what}: element {at} differs: expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)} (relative {worst:E2} > {tolerance:E2})");
    }

    /// <summary>How far the parameters moved from initialization: guards against tests that pass because nothing trained.</summary>
    public static float Movement(TrainSettings settings, float[] parameters)
    {
        var initial = Trainer.InitialState(settings, new Model.ParameterLayout(settings.Layers)).Parameters;
        float max = 0;
        for (int i = 0; i < initial.Length; i++) max = MathF.Max(max, MathF.Abs(initial[i] - parameters[i]));
        return max;
    }
}
