using AllReduceNet.Benchmarks.HogwildSparse;

namespace AllReduceNet.Training.Tests;

/// <summary>benchmarks/HogwildSparse: the feature hashing, and lock-free SGD on 1 thread equal to the sequential loop.</summary>
public class HogwildSparseTests
{
    private const int Pixels = FeatureHasher.Side * FeatureHasher.Side;

    private static (List<int> Slots, List<float> Signs) Features(FeatureHasher hasher, float[] image)
    {
        var slots = new List<int>();
        var signs = new List<float>();
        hasher.AddFeatures(image, slots, signs);
        return (slots, signs);
    }

    [Fact]
    public void BlankImageHasOnlyTheBiasFeature()
    {
        var (slots, _) = Features(new FeatureHasher(18), new float[Pixels]);
        Assert.Single(slots);
    }

    [Fact]
    public void OneLitPixelAddsOneIntensityFeatureAndNoPair()
    {
        var hasher = new FeatureHasher(18);
        var image = new float[Pixels];
        image[300] = 0.9f;
        var (slots, _) = Features(hasher, image);
        Assert.Equal(2, slots.Count);
        // A darker value falls into another intensity bucket, hence another key and (with 2^18 slots) another slot.
        image[300] = 0.1f;
        var (other, _) = Features(hasher, image);
        Assert.Equal(2, other.Count);
        Assert.Equal(slots[0], other[0]);
        Assert.NotEqual(slots[1], other[1]);
    }

    [Fact]
    public void AdjacentLitCellsAddPairFeatures()
    {
        // Two lit 2x2 blocks side by side: 8 intensity features, one horizontal pair, no vertical pair, the bias.
        var image = new float[Pixels];
        foreach (int row in new[] { 10, 11 })
            foreach (int column in new[] { 10, 11, 12, 13 })
                image[row * FeatureHasher.Side + column] = 0.6f;
        var (slots, _) = Features(new FeatureHasher(18), image);
        Assert.Equal(1 + 8 + 1, slots.Count);
    }

    [Fact]
    public void HashingIsDeterministicInRangeAndUnitNorm()
    {
        var random = new Random(5);
        var pixels = new float[3 * Pixels];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = random.NextDouble() < 0.5 ? 0 : (float)random.NextDouble();
        var hasher = new FeatureHasher(12);
        var first = hasher.Hash(pixels, [0, 1, 2]);
        var second = new FeatureHasher(12).Hash(pixels, [0, 1, 2]);
        Assert.Equal(first.Slots, second.Slots);
        Assert.Equal(first.Values, second.Values);
        Assert.All(first.Slots, s => Assert.InRange(s, 0, (1 << 12) - 1));
        for (int e = 0; e < first.Count; e++)
        {
            double norm = 0;
            foreach (float v in first.ValuesOf(e)) norm += (double)v * v;
            Assert.Equal(1.0, norm, 5);
        }
        // Signed hashing: both signs occur.
        Assert.Contains(first.Values, v => v > 0);
        Assert.Contains(first.Values, v => v < 0);
    }

    [Fact]
    public void BadInputIsRefusedWithTheReason()
    {
        var bits = Assert.Throws<ArgumentOutOfRangeException>(() => new FeatureHasher(40));
        Assert.Contains("hash bits", bits.Message);
        var size = Assert.Throws<ArgumentException>(() => new FeatureHasher(18).Hash(new float[100], [0]));
        Assert.Contains("784", size.Message);
    }

    private static HashedFeatures SyntheticData(int count, int seed)
    {
        // Images whose lit region depends on the class, so that the model has something to learn.
        var random = new Random(seed);
        var pixels = new float[count * Pixels];
        var labels = new int[count];
        for (int e = 0; e < count; e++)
        {
            int label = random.Next(SoftmaxRegression.Classes);
            labels[e] = label;
            for (int k = 0; k < 60; k++)
            {
                int row = 2 * label + random.Next(8), column = random.Next(FeatureHasher.Side);
                pixels[e * Pixels + row * FeatureHasher.Side + column] = (float)random.NextDouble();
            }
        }
        return new FeatureHasher(14).Hash(pixels, labels);
    }

    [Theory]
    [InlineData("Hogwild")]
    [InlineData("OneLock")]
    [InlineData("StripedLocks")]
    public void OneThreadEqualsSequentialBitwise(string modeName)
    {
        // UpdateMode is internal to the benchmark, so the cases name it.
        var mode = Enum.Parse<UpdateMode>(modeName);
        var data = SyntheticData(400, 1);
        var (sequential, _) = new SparseSgdTrainer(UpdateMode.Sequential, 1, 0.5f, 0.9f, 7).Train(data, 2);
        var (threaded, _) = new SparseSgdTrainer(mode, 1, 0.5f, 0.9f, 7).Train(data, 2);
        Assert.Contains(sequential, w => w != 0);
        Assert.Equal(sequential, threaded);
    }

    [Fact]
    public void HogwildOnFourThreadsLearns()
    {
        var train = SyntheticData(2000, 2);
        var test = SyntheticData(500, 3);
        var (sequential, _) = new SparseSgdTrainer(UpdateMode.Sequential, 1, 0.5f, 0.9f, 7).Train(train, 3);
        var (hogwild, _) = new SparseSgdTrainer(UpdateMode.Hogwild, 4, 0.5f, 0.9f, 7).Train(train, 3);
        double sequentialAccuracy = SoftmaxRegression.Accuracy(sequential, test);
        Assert.True(sequentialAccuracy > 0.8, $"sequential accuracy {sequentialAccuracy}");
        Assert.InRange(SoftmaxRegression.Accuracy(hogwild, test), sequentialAccuracy - 0.05, 1.0);
    }
}
