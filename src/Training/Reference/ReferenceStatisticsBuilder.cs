using System.Numerics.Tensors;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Reference;

/// <summary>Computes a model's <see cref="ReferenceStatistics"/> from its training inputs and its validation data.</summary>
internal static class ReferenceStatisticsBuilder
{
    /// <summary>Bins per feature histogram: 32 keeps 784 features near 100 KB of JSON and bounds the binning error of
    /// KS and Wasserstein to 1/32 of a feature's range.</summary>
    public const int FeatureBins = 32;

    /// <summary>Bins of the confidence histogram over [0, 1].</summary>
    public const int ConfidenceBins = 20;

    /// <summary>Activation vectors kept for MMD: enough for a permutation test to see a shift of a few tenths of a
    /// deviation, few enough that the kernel matrix of reference plus window stays small (400 x 400).</summary>
    public const int ActivationSamples = 200;

    /// <summary>Computes the statistics; deterministic for a given <paramref name="seed"/>.</summary>
    /// <param name="checkpoint">The model.</param>
    /// <param name="train">The training data (its inputs as the model saw them, preprocessed).</param>
    /// <param name="validation">The validation data (Train.dll's test set).</param>
    /// <param name="seed">Chooses the activation sample.</param>
    public static ReferenceStatistics Build(Checkpoint checkpoint, Dataset train, Dataset validation, int seed)
    {
        int features = train.Features;
        var histograms = new FeatureHistogram[features];
        var means = new float[features];
        var deviations = new float[features];
        Parallel.For(0, features, f =>
        {
            histograms[f] = FeatureHistogram.Build(train.Inputs, f, features, FeatureBins);
            double sum = 0, squares = 0;
            for (int i = f; i < train.Inputs.Length; i += features) { double v = train.Inputs[i]; sum += v; squares += v * v; }
            double mean = sum / train.Count;
            means[f] = (float)mean;
            deviations[f] = (float)Math.Sqrt(Math.Max(squares / train.Count - mean * mean, 0));
        });

        using var probe = new ModelProbe(checkpoint);
        var (probabilities, activations) = probe.Run(validation.Inputs, validation.Count);
        int classes = probe.Classes;
        var predicted = new long[classes];
        var confidences = new float[validation.Count];
        long correct = 0;
        for (int r = 0; r < validation.Count; r++)
        {
            var row = probabilities.AsSpan(r * classes, classes);
            int cls = TensorPrimitives.IndexOfMax<float>(row);
            predicted[cls]++;
            confidences[r] = row[cls];
            if (cls == validation.Labels[r]) correct++;
        }
        var confidence = new FeatureHistogram(0, 1, new long[ConfidenceBins]);
        foreach (float c in confidences) confidence.Counts[confidence.Cell(Math.Clamp(c, 0f, 1f)) - 1]++;

        int width = probe.ActivationWidth;
        var chosen = Enumerable.Range(0, validation.Count).ToArray();
        new Random(seed).Shuffle(chosen);
        var sample = chosen.Take(Math.Min(ActivationSamples, validation.Count))
            .Select(r => activations.AsSpan(r * width, width).ToArray()).ToArray();
        return new ReferenceStatistics
        {
            TrainingSamples = train.Count,
            Features = histograms,
            FeatureMeans = means,
            FeatureDeviations = deviations,
            ValidationSamples = validation.Count,
            ValidationAccuracy = validation.Count == 0 ? 0 : (double)correct / validation.Count,
            PredictedClasses = predicted,
            Confidence = confidence,
            ActivationLayer = probe.ActivationLayer,
            Activations = sample,
            KernelBandwidth = MedianDistance(sample),
        };
    }

    /// <summary>The median of the distances between distinct vectors (the usual RBF bandwidth heuristic), or 1 when they all coincide.</summary>
    public static double MedianDistance(float[][] vectors)
    {
        var distances = new List<double>(vectors.Length * (vectors.Length - 1) / 2);
        for (int i = 0; i < vectors.Length; i++)
            for (int j = i + 1; j < vectors.Length; j++)
                distances.Add(TensorPrimitives.Distance<float>(vectors[i], vectors[j]));
        if (distances.Count == 0) return 1;
        distances.Sort();
        double median = distances[distances.Count / 2];
        return median > 0 ? median : 1;
    }
}
