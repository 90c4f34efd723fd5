using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Reference;

namespace AllReduceNet.Serving.Tests.Drift;

/// <summary>Models with reference statistics for the drift tests: ServerFixture's seeded MLP (784, 16, 10), its
/// reference made from Fashion-MNIST test images (the first 6,000 as "training" inputs, the next 2,000 as validation);
/// images from 8,000 on are the streams.</summary>
internal static class DriftFixtures
{
    public const int ReferenceRows = 6000, ValidationRows = 2000, StreamStart = ReferenceRows + ValidationRows;

    private static readonly Lazy<(float[] Raw, int[] Labels)> FashionTest = new(() =>
    {
        string directory = FashionMnist.DefaultDirectory;
        string images = Path.Combine(directory, "t10k-images-idx3-ubyte.gz");
        if (!File.Exists(images)) throw new InvalidOperationException($"the drift tests need Fashion-MNIST in {directory}: run scripts/setup.sh (apt-get install dataset-fashion-mnist).");
        var (pixels, _, _) = IdxReader.ReadImages(images);
        for (int i = 0; i < pixels.Length; i++) pixels[i] = MathF.Round(pixels[i] * 255);
        return (pixels, IdxReader.ReadLabels(Path.Combine(directory, "t10k-labels-idx1-ubyte.gz")));
    });

    /// <summary>Raw test images (bytes 0..255 as floats) and labels.</summary>
    public static (float[] Raw, int[] Labels) Fashion => FashionTest.Value;

    /// <summary>Clients send raw bytes; the model sees them scaled to [0, 1].</summary>
    public static Preprocessing Preprocess { get; } = new(1 / 255.0, 0, 1);

    public static Checkpoint Model(int seed = 1)
    {
        var parameters = ServerFixture.Parameters(seed);
        return new Checkpoint(ServerFixture.Sizes, 1, seed, OptimizerKind.Sgd, 0, parameters, [new float[parameters.Length]]);
    }

    public static ReferenceStatistics Reference(Checkpoint model)
    {
        var (raw, labels) = Fashion;
        Dataset Slice(int start, int rows)
        {
            var inputs = raw.AsSpan(start * 784, rows * 784).ToArray();
            Preprocess.Apply(inputs);
            return new Dataset(inputs, labels.AsSpan(start, rows).ToArray(), 784, 10);
        }
        return ReferenceStatisticsBuilder.Build(model, Slice(0, ReferenceRows), Slice(ReferenceRows, ValidationRows), seed: 5);
    }
}
