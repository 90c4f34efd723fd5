using AllReduceNet.Serving.DriftBenchmarks;
using AllReduceNet.Serving.Drift;

namespace AllReduceNet.Serving.Tests.Drift;

/// <summary>The window tests on Fashion-MNIST streams: unshifted windows do not alarm, each kind of shift does (seeded).</summary>
public class DriftDetectorTests : IClassFixture<DriftDetectorTests.Detector>
{
    public sealed class Detector : IDisposable
    {
        internal DriftDetector Value { get; }
        public Detector()
        {
            var model = DriftFixtures.Model();
            Value = new DriftDetector(DriftFixtures.Reference(model), model, DriftFixtures.Preprocess, new DriftOptions { Window = Rows });
        }
        public void Dispose() => Value.Dispose();
    }

    private const int Rows = 500;
    private readonly DriftDetector _detector;

    public DriftDetectorTests(Detector detector) => _detector = detector.Value;

    private static float[] Window(int seed, Func<Random, int, float[]>? shift = null, Func<Random, int>? draw = null)
    {
        var (raw, _) = DriftFixtures.Fashion;
        var random = new Random(seed);
        var window = new float[Rows * 784];
        for (int r = 0; r < Rows; r++)
        {
            int index = draw?.Invoke(random) ?? DriftFixtures.StreamStart + random.Next(10_000 - DriftFixtures.StreamStart);
            var image = shift is null ? raw.AsSpan(index * 784, 784).ToArray() : shift(random, index);
            image.CopyTo(window, r * 784);
        }
        return window;
    }

    private static float[] Image(int index) => DriftFixtures.Fashion.Raw.AsSpan(index * 784, 784).ToArray();

    [Fact]
    public void Unshifted_windows_do_not_alarm()
    {
        for (int seed = 0; seed < 4; seed++)
        {
            var report = _detector.Evaluate(Window(seed), Rows, seed);
            Assert.False(report.Drift, $"seed {seed}: {report}");
            Assert.Equal(FeatureDriftTest.Ks, report.FeatureTest); // Evidently's rule: KS for a window of 500
            Assert.InRange(report.DriftedShare, 0, 0.2);
        }
    }

    [Fact]
    public void Brightness_and_contrast_change_drifts_most_features()
    {
        var report = _detector.Evaluate(Window(11, (_, i) => Shifts.BrightnessContrast(Image(i), 0.7, 40)), Rows, 11);
        Assert.True(report.DatasetDrift, report.ToString());
        Assert.True(report.Drift);
        Assert.True(report.MultivariateDrift, report.ToString());
    }

    [Fact]
    public void Rotation_alarms()
    {
        var report = _detector.Evaluate(Window(12, (_, i) => Shifts.Rotate(Image(i), 20)), Rows, 12);
        Assert.True(report.Drift, report.ToString());
        Assert.True(report.KsDrifted > 50, report.ToString());
    }

    [Fact]
    public void Class_prior_change_alarms()
    {
        var (_, labels) = DriftFixtures.Fashion;
        var pool = Enumerable.Range(DriftFixtures.StreamStart, 10_000 - DriftFixtures.StreamStart).ToArray();
        var firstClasses = pool.Where(i => labels[i] < 5).ToArray();
        var otherClasses = pool.Where(i => labels[i] >= 5).ToArray();
        // 90% of the rows from classes 0-4 instead of half.
        var report = _detector.Evaluate(Window(13, draw: r => r.NextDouble() < 0.9 ? firstClasses[r.Next(firstClasses.Length)] : otherClasses[r.Next(otherClasses.Length)]), Rows, 13);
        Assert.True(report.Drift, report.ToString());
    }
}
