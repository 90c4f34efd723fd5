using System.Globalization;
using System.Text.Json;

namespace AllReduceNet.Training.Checkpoints;

/// <summary>
/// How a model's inputs were prepared in training, stored as <c>preprocess.json</c> beside <c>model.ckpt</c> so that a
/// server applies it: every input value becomes <c>(x * Scale - Mean) / Deviation</c>. For Fashion-MNIST, Train.dll
/// writes Scale = 1/255, so a client sends raw pixels 0..255. With <see cref="PerSample"/> each row is instead
/// standardized by its own mean and deviation (Train.dll's <c>--normalize per-sample</c>), which makes the model blind
/// to any brightness and contrast change <c>x' = a x + b</c> (a &gt; 0) of a whole input.
/// </summary>
/// <param name="Scale">Multiplies the raw value first (1/255: bytes to [0, 1]).</param>
/// <param name="Mean">Subtracted after scaling: the training set's mean (0 when not standardized or per sample).</param>
/// <param name="Deviation">Divides last: the training set's deviation (1 when not standardized or per sample); positive.</param>
/// <param name="PerSample">Each row becomes <c>(x - row mean) / row deviation</c> (after Scale); Mean and Deviation are then unused (0 and 1).</param>
public sealed record Preprocessing(double Scale, double Mean, double Deviation, bool PerSample = false)
{
    /// <summary>A row whose deviation (after Scale) is below this is only centred: a blank input must not blow up.</summary>
    public const double MinimumRowDeviation = 1e-6;

    /// <summary>Per-sample standardization of raw bytes (Scale 1/255 only matters for the minimum deviation).</summary>
    public static Preprocessing PerSampleOfBytes { get; } = new(1 / 255.0, 0, 1, PerSample: true);

    /// <summary>The file name beside <c>model.ckpt</c>.</summary>
    public const string FileName = "preprocess.json";

    /// <summary>The identity: inputs are used as sent.</summary>
    public static Preprocessing Identity { get; } = new(1, 0, 1);

    /// <summary>Applies the transform to every value, in place.</summary>
    /// <param name="values">Input rows, row-major.</param>
    /// <exception cref="InvalidOperationException">The transform is per sample: use the overload that knows the row length.</exception>
    public void Apply(Span<float> values)
    {
        if (PerSample) throw new InvalidOperationException("A per-sample preprocessing needs the row length: call Apply(values, features).");
        if (this == Identity) return;
        // Folded into one multiply-add: x * (scale / deviation) - mean / deviation.
        float a = (float)(Scale / Deviation), b = (float)(Mean / Deviation);
        for (int i = 0; i < values.Length; i++) values[i] = values[i] * a - b;
    }

    /// <summary>Applies the transform to rows of <paramref name="features"/> values each, in place.</summary>
    /// <param name="values">Input rows, row-major; a whole number of rows.</param>
    /// <param name="features">Values per row, at least 1.</param>
    /// <exception cref="ArgumentException">The values are not a whole number of rows.</exception>
    public void Apply(Span<float> values, int features)
    {
        if (!PerSample) { Apply(values); return; }
        if (features < 1 || values.Length % features != 0)
            throw new ArgumentException($"{values.Length} values are not a whole number of rows of {features} features.", nameof(values));
        for (int start = 0; start < values.Length; start += features)
        {
            var row = values.Slice(start, features);
            // Two passes in double: sum-of-squares minus squared mean in float loses the deviation of a nearly flat image.
            double sum = 0;
            foreach (float v in row) sum += v * Scale;
            double mean = sum / features, squares = 0;
            foreach (float v in row) { double d = v * Scale - mean; squares += d * d; }
            double deviation = Math.Sqrt(squares / features);
            double divisor = deviation < MinimumRowDeviation ? 1 : deviation;
            for (int i = 0; i < row.Length; i++) row[i] = (float)((row[i] * Scale - mean) / divisor);
        }
    }

    /// <summary>Writes the file as <c>{"scale": S, "mean": M, "deviation": D}</c>, plus <c>"per_sample": true</c> when per sample.</summary>
    /// <param name="path">The file to write.</param>
    public void Write(string path)
    {
        string? directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        // "per_sample" only when set, so that files of ordinary models stay as they were.
        string perSample = PerSample ? ", \"per_sample\": true" : "";
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture,
            $"{{\"scale\": {Scale:R}, \"mean\": {Mean:R}, \"deviation\": {Deviation:R}{perSample}}}\n"));
    }

    /// <summary>Reads a <c>preprocess.json</c>; <c>scale</c> is optional (default 1), <c>mean</c> and <c>deviation</c> are required.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The transform.</returns>
    /// <exception cref="CheckpointException">The file is unreadable, not that JSON, or a number is not finite (or the deviation not positive).</exception>
    public static Preprocessing Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new CheckpointException(path, "it must be a JSON object {\"scale\", \"mean\", \"deviation\"}");
            double Number(string name, double? fallback)
            {
                if (!root.TryGetProperty(name, out var value))
                    return fallback ?? throw new CheckpointException(path, $"it has no \"{name}\"");
                if (value.ValueKind != JsonValueKind.Number || !double.IsFinite(value.GetDouble()))
                    throw new CheckpointException(path, $"\"{name}\" must be a finite number");
                return value.GetDouble();
            }
            bool perSample = false;
            if (root.TryGetProperty("per_sample", out var flag))
            {
                if (flag.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw new CheckpointException(path, "\"per_sample\" must be true or false");
                perSample = flag.GetBoolean();
            }
            var result = new Preprocessing(Number("scale", 1), Number("mean", null), Number("deviation", null), perSample);
            if (result.Deviation <= 0) throw new CheckpointException(path, "\"deviation\" must be positive");
            return result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new CheckpointException(path, e.Message);
        }
    }
}
