using System.Text.Json;
using System.Text.Json.Serialization;
using AllReduceNet.Training.Checkpoints;

namespace AllReduceNet.Training.Reference;

/// <summary>
/// What a model saw and did at training time, saved beside its checkpoint so that a server can tell when the requests
/// it gets stop looking like that (drift): per-feature histograms of the training inputs (in the model's input space,
/// after preprocess.json), per-feature mean and deviation, the classes the model predicted on the validation data and
/// its confidence there (the largest probability), its validation accuracy, and a random sample of its penultimate
/// layer's activations on the validation data for a multivariate test (MMD), with the kernel bandwidth for it.
/// Stored as JSON (<see cref="FileName"/> in a model version directory; <c>CHECKPOINT.reference.json</c> beside a
/// training checkpoint); the format is in docs/checkpoint-format.md.
/// </summary>
public sealed record ReferenceStatistics
{
    /// <summary>The file name in a model version directory, beside model.ckpt.</summary>
    public const string FileName = "reference.json";

    /// <summary>The format version written and the only one read.</summary>
    public const int FormatVersion = 1;

    /// <summary>The file written beside a training checkpoint: <c>CHECKPOINT.reference.json</c>.</summary>
    /// <param name="checkpointPath">The checkpoint file.</param>
    /// <returns>The reference statistics' path.</returns>
    public static string PathBeside(string checkpointPath) => checkpointPath + ".reference.json";

    /// <summary>The format version of the file.</summary>
    [JsonPropertyName("format_version")] public int Version { get; init; } = FormatVersion;

    /// <summary>Training samples the feature histograms were made from.</summary>
    [JsonPropertyName("training_samples")] public long TrainingSamples { get; init; }

    /// <summary>One histogram per input feature.</summary>
    [JsonPropertyName("features")] public FeatureHistogram[] Features { get; init; } = [];

    /// <summary>Each feature's mean over the training inputs.</summary>
    [JsonPropertyName("feature_means")] public float[] FeatureMeans { get; init; } = [];

    /// <summary>Each feature's standard deviation over the training inputs (Wasserstein distances are divided by it).</summary>
    [JsonPropertyName("feature_deviations")] public float[] FeatureDeviations { get; init; } = [];

    /// <summary>Validation samples the prediction statistics were made from.</summary>
    [JsonPropertyName("validation_samples")] public long ValidationSamples { get; init; }

    /// <summary>The fraction of validation samples classified correctly.</summary>
    [JsonPropertyName("validation_accuracy")] public double ValidationAccuracy { get; init; }

    /// <summary>How often the model predicted each class on the validation data (one count per class).</summary>
    [JsonPropertyName("predicted_classes")] public long[] PredictedClasses { get; init; } = [];

    /// <summary>The model's confidence (largest probability) on the validation data, over [0, 1].</summary>
    [JsonPropertyName("confidence")] public FeatureHistogram Confidence { get; init; } = new(0, 1, [1]);

    /// <summary>Which layer's outputs <see cref="Activations"/> holds: the penultimate layer's index (its width is the vectors' length);
    /// -1 when the model has no hidden layer and the vectors are its (preprocessed) inputs.</summary>
    [JsonPropertyName("activation_layer")] public int ActivationLayer { get; init; }

    /// <summary>A seeded random sample of validation samples' penultimate activations, one vector each.</summary>
    [JsonPropertyName("activations")] public float[][] Activations { get; init; } = [];

    /// <summary>The RBF kernel's bandwidth for MMD on <see cref="Activations"/>: the median distance between sampled vectors.</summary>
    [JsonPropertyName("kernel_bandwidth")] public double KernelBandwidth { get; init; }

    /// <summary>Number of input features.</summary>
    [JsonIgnore] public int FeatureCount => Features.Length;

    /// <summary>Number of classes.</summary>
    [JsonIgnore] public int Classes => PredictedClasses.Length;

    /// <summary>Writes the statistics as JSON, atomically (a temporary file renamed over the target).</summary>
    /// <param name="path">The file to write.</param>
    public void Write(string path)
    {
        string? directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        string temporary = path + ".tmp";
        using (var stream = File.Create(temporary)) JsonSerializer.Serialize(stream, this, Options);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads and checks a reference statistics file.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The statistics.</returns>
    /// <exception cref="CheckpointException">The file is unreadable, not this JSON, of another format version, or inconsistent (lengths, negative counts, non-finite numbers).</exception>
    public static ReferenceStatistics Read(string path)
    {
        ReferenceStatistics? statistics;
        try
        {
            using var stream = File.OpenRead(path);
            statistics = JsonSerializer.Deserialize<ReferenceStatistics>(stream, Options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new CheckpointException(path, e.Message);
        }
        if (statistics is null) throw new CheckpointException(path, "it holds null, not reference statistics");
        if (statistics.Problem() is { } problem) throw new CheckpointException(path, problem);
        return statistics;
    }

    /// <summary>What makes the statistics unusable, or null when they are consistent.</summary>
    private string? Problem()
    {
        if (Version != FormatVersion) return $"its format_version is {Version}, but this reader knows only {FormatVersion}";
        if (Features.Length == 0) return "\"features\" is empty";
        if (FeatureMeans.Length != Features.Length || FeatureDeviations.Length != Features.Length)
            return $"\"feature_means\" ({FeatureMeans.Length}) and \"feature_deviations\" ({FeatureDeviations.Length}) must have one value per feature ({Features.Length})";
        for (int f = 0; f < Features.Length; f++)
            if (HistogramProblem(Features[f]) is { } problem) return $"feature {f}: {problem}";
        if (FeatureMeans.Any(v => !float.IsFinite(v)) || FeatureDeviations.Any(v => !float.IsFinite(v) || v < 0))
            return "feature means must be finite and deviations finite and non-negative";
        if (PredictedClasses.Length < 2 || PredictedClasses.Any(c => c < 0)) return "\"predicted_classes\" needs a non-negative count for each of at least 2 classes";
        if (!(ValidationAccuracy is >= 0 and <= 1)) return $"\"validation_accuracy\" is {ValidationAccuracy}, not in [0, 1]";
        if (HistogramProblem(Confidence) is { } confidence) return $"\"confidence\": {confidence}";
        if (Activations.Length < 2) return "\"activations\" needs at least 2 vectors";
        int width = Activations[0]?.Length ?? 0;
        if (width == 0 || Activations.Any(a => a is null || a.Length != width || a.Any(v => !float.IsFinite(v))))
            return "\"activations\" must be vectors of one non-zero length with finite values";
        if (!(KernelBandwidth > 0) || !double.IsFinite(KernelBandwidth)) return $"\"kernel_bandwidth\" is {KernelBandwidth}, but must be positive";
        return null;
    }

    private static string? HistogramProblem(FeatureHistogram? histogram)
    {
        if (histogram is null || histogram.Counts is null || histogram.Counts.Length == 0) return "a histogram needs at least one bin";
        if (!float.IsFinite(histogram.Low) || !float.IsFinite(histogram.High) || histogram.High < histogram.Low) return "low and high must be finite, low <= high";
        if (histogram.Counts.Any(c => c < 0)) return "bin counts must be non-negative";
        return null;
    }

    private static readonly JsonSerializerOptions Options = new() { NumberHandling = JsonNumberHandling.Strict };
}
