using AllReduceNet.Serving.Tests.Drift;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Reference;

namespace AllReduceNet.Serving.Tests.Status;

/// <summary>Model repositories for the status page tests: DriftFixtures' seeded MLPs with preprocess.json and reference
/// statistics made from Fashion-MNIST test images (computed once per seed), and a plain one without.</summary>
internal static class StatusModels
{
    private static readonly Dictionary<int, Lazy<(Checkpoint Model, ReferenceStatistics Reference)>> Made = new()
    {
        [1] = new(() => Make(1)),
        [2] = new(() => Make(2)),
    };

    private static (Checkpoint, ReferenceStatistics) Make(int seed)
    {
        var model = DriftFixtures.Model(seed);
        return (model, DriftFixtures.Reference(model));
    }

    /// <summary>Writes DIRECTORY/NAME/VERSION with model.ckpt, preprocess.json and reference.json (seed 1 or 2).</summary>
    public static void WriteWithReference(string directory, string name, int version, int seed)
    {
        var (model, reference) = Made[seed].Value;
        string at = Path.Combine(directory, name, version.ToString());
        CheckpointFile.Write(Path.Combine(at, "model.ckpt"), model);
        DriftFixtures.Preprocess.Write(Path.Combine(at, Preprocessing.FileName));
        reference.Write(Path.Combine(at, ReferenceStatistics.FileName));
    }

    /// <summary>A Fashion-MNIST stream image (raw bytes 0..255 as floats), from DriftFixtures' stream part.</summary>
    public static float[] Image(int index) => DriftFixtures.Fashion.Raw.AsSpan((DriftFixtures.StreamStart + index % 2000) * 784, 784).ToArray();

    public static int Label(int index) => DriftFixtures.Fashion.Labels[DriftFixtures.StreamStart + index % 2000];
}
