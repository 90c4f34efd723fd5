using System.Numerics.Tensors;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Reference;

namespace AllReduceNet.Serving.Drift;

/// <summary>
/// Compares one window of requests with a model's <see cref="ReferenceStatistics"/>: it preprocesses the raw rows as
/// the server does, runs them through its own copy of the model (<see cref="ModelProbe"/>) for the predictions and the
/// penultimate activations, and applies every test. The server's monitor and the benchmark (benchmarks/DriftBench) both
/// use it, so the figures measure the code that serves. Not thread-safe: one window at a time.
/// </summary>
internal sealed class DriftDetector : IDisposable
{
    private readonly ReferenceStatistics _reference;
    private readonly Preprocessing _preprocess;
    private readonly DriftOptions _options;
    private readonly ModelProbe _probe;
    private readonly long[][] _referenceCells;
    private readonly long[] _confidenceCells;
    private readonly double[] _classShares;

    /// <exception cref="ArgumentException">The reference statistics do not fit the model (features, classes, activation width).</exception>
    public DriftDetector(ReferenceStatistics reference, Checkpoint checkpoint, Preprocessing preprocess, DriftOptions options)
    {
        _reference = reference;
        _preprocess = preprocess;
        _options = options;
        _probe = new ModelProbe(checkpoint);
        if (reference.FeatureCount != _probe.InputSize || reference.Classes != _probe.Classes || reference.Activations[0].Length != _probe.ActivationWidth)
        {
            _probe.Dispose();
            throw new ArgumentException($"the reference statistics describe {reference.FeatureCount} features, {reference.Classes} classes and activations of {reference.Activations[0].Length}, " +
                $"but the model has {_probe.InputSize} inputs, {_probe.Classes} classes and a penultimate layer of {_probe.ActivationWidth}.");
        }
        _referenceCells = reference.Features.Select(WithOutsideCells).ToArray();
        _confidenceCells = WithOutsideCells(reference.Confidence);
        _classShares = reference.PredictedClasses.Select(c => (c + 0.5) / (reference.ValidationSamples + 0.5 * reference.Classes)).ToArray();
    }

    /// <summary>Tests a window of raw rows (as clients sent them).</summary>
    /// <param name="raw">rows x features, row-major; not modified.</param>
    /// <param name="rows">Rows in the window, at least 2.</param>
    /// <param name="seed">Seeds the MMD permutations.</param>
    public DriftReport Evaluate(ReadOnlySpan<float> raw, int rows, int seed)
    {
        int features = _reference.FeatureCount;
        var input = raw[..(rows * features)].ToArray();
        _preprocess.Apply(input, features);
        var (probabilities, activations) = _probe.Run(input, rows);

        var ks = new double[features];
        var wasserstein = new double[features];
        var psi = new double[features];
        double en = rows;
        // One core on purpose: the window is tested beside the inference path, which should keep the other cores.
        var cells = new long[_referenceCells.Max(c => c.Length)];
        for (int f = 0; f < features; f++)
        {
            var histogram = _reference.Features[f];
            int cellCount = histogram.Counts.Length + 2;
            var current = cells.AsSpan(0, cellCount);
            current.Clear();
            double below = 0, above = 0;
            for (int r = 0; r < rows; r++)
            {
                float v = input[r * features + f];
                int cell = histogram.Cell(v);
                current[cell]++;
                if (cell == 0) below += histogram.Low - (double)v;
                else if (cell == cellCount - 1) above += float.IsFinite(v) ? v - (double)histogram.High : histogram.High - histogram.Low + 1;
            }
            var reference = _referenceCells[f];
            ks[f] = KolmogorovSmirnov.PValue(KolmogorovSmirnov.Statistic(reference, current), histogram.Total, en);
            wasserstein[f] = Wasserstein.Normalized(Wasserstein.Distance(histogram, current, below, above), _reference.FeatureDeviations[f]);
            psi[f] = PopulationStabilityIndex.Compute(reference, current);
        }

        var test = _options.ChosenFeatureTest;
        // The chosen test's drift score, larger = more drifted (1 - p for KS).
        Func<int, double> score = test switch
        {
            FeatureDriftTest.Ks => f => 1 - ks[f],
            FeatureDriftTest.Wasserstein => f => wasserstein[f],
            _ => f => psi[f],
        };
        var top = Enumerable.Range(0, features).OrderByDescending(score).Take(5).Select(f => (f, score(f))).ToArray();

        int classes = _probe.Classes;
        var predicted = new long[classes];
        var confidence = new long[_confidenceCells.Length];
        for (int r = 0; r < rows; r++)
        {
            var row = probabilities.AsSpan(r * classes, classes);
            int cls = TensorPrimitives.IndexOfMax<float>(row);
            predicted[cls]++;
            confidence[_reference.Confidence.Cell(Math.Clamp(row[cls], 0f, 1f))]++;
        }
        var (chi2, df) = ChiSquare.Statistic(predicted, _classShares);
        double confidenceP = KolmogorovSmirnov.PValue(KolmogorovSmirnov.Statistic(_confidenceCells, confidence), _reference.ValidationSamples, en);
        double confidencePsi = PopulationStabilityIndex.Compute(_confidenceCells, confidence);

        // The latest rows, as many as the reference sample: the kernel matrix stays (2 x 200)².
        int width = _probe.ActivationWidth, take = Math.Min(rows, _reference.Activations.Length);
        var latest = new float[take][];
        for (int i = 0; i < take; i++) latest[i] = activations.AsSpan((rows - take + i) * width, width).ToArray();
        var (mmd2, mmdP) = MaximumMeanDiscrepancy.Test(_reference.Activations, latest, _reference.KernelBandwidth, _options.Permutations, seed);

        return new DriftReport(rows, features,
            ks.Count(p => p < _options.KsPValue), wasserstein.Count(w => w > _options.WassersteinThreshold), psi.Count(v => v > _options.PsiThreshold),
            test, top, mmd2, mmdP, ChiSquare.PValue(chi2, df), confidenceP, confidencePsi, _options);
    }

    /// <summary>A histogram's counts with the empty below and above cells around them, as current samples are counted.</summary>
    private static long[] WithOutsideCells(FeatureHistogram histogram)
    {
        var cells = new long[histogram.Counts.Length + 2];
        histogram.Counts.CopyTo(cells, 1);
        return cells;
    }

    public void Dispose() => _probe.Dispose();
}
