using System.Globalization;
using System.Text.Json;

namespace AllReduceNet.Training.Checkpoints;

/// <summary>
/// How a model's inputs were prepared in training, stored as <c>preprocess.json</c> beside <c>model.ckpt</c> so that a
/// server applies it: every input value becomes <c>(x * Scale - Mean) / Deviation</c>. For Fashion-MNIST, Train.dll
/// writes Scale = 1/255, so a client sends raw pixels 0..255.
/// </summary>
/// <param name="Scale">Multiplies the raw value first (1/255: bytes to [0, 1]).</param>
/// <param name="Mean">Subtracted after scaling: the training set's mean (0 when not standardized).</param>
/// <param name="Deviation">Divides last: the training set's deviation (1 when not standardized); positive.</param>
public sealed record Preprocessing(double Scale, double Mean, double Deviation)
{
    /// <summary>The file name beside <c>model.ckpt</c>.</summary>
    public const string FileName = "preprocess.json";

    /// <summary>The identity: inputs are used as sent.</summary>
    public static Preprocessing Identity { get; } = new(1, 0, 1);

    /// <summary>Applies the transform to every value, in place.</summary>
    /// <param name="values">Input rows, row-major.</param>
    public void Apply(Span<float> values)
    {
        if (this == Identity) return;
        // Folded into one multiply-add: x * (scale / deviation) - mean / deviation.
        float a = (float)(Scale / Deviation), b = (float)(Mean / Deviation);
        for (int i = 0; i < values.Length; i++) values[i] = values[i] * a - b;
    }

    /// <summary>Writes the file as <c>{"scale": S, "mean": M, "deviation": D}</c>.</summary>
    /// <param name="path">The file to write.</param>
    public void Write(string path)
    {
        string? directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture,
            $"{{\"scale\": {Scale:R}, \"mean\": {Mean:R}, \"deviation\": {Deviation:R}}}\n"));
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
            var result = new Preprocessing(Number("scale", 1), Number("mean", null), Number("deviation", null));
            if (result.Deviation <= 0) throw new CheckpointException(path, "\"deviation\" must be positive");
            return result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new CheckpointException(path, e.Message);
        }
    }
}
