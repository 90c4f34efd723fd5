using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace AllReduceNet.Training.Data;

/// <summary>
/// Labeled rows in one binary file: what Serve.dll's feedback export sends and what Train.dll's <c>--extra-data</c>
/// reads. Little-endian: the magic <c>ARNLBL01</c>, then int32 rows, features and classes, then rows x features
/// float32 inputs (row-major, raw values as a client sends them, before preprocess.json), then rows int32 labels.
/// docs/lifecycle.md describes it.
/// </summary>
public static class LabeledDataFile
{
    /// <summary>The first eight bytes of every such file.</summary>
    public static ReadOnlySpan<byte> Magic => "ARNLBL01"u8;

    private const int HeaderBytes = 8 + 3 * sizeof(int);

    /// <summary>Encodes rows and their labels.</summary>
    /// <param name="inputs">rows x <paramref name="features"/> raw input values.</param>
    /// <param name="labels">One class per row.</param>
    /// <param name="features">Values per row (at least 1).</param>
    /// <param name="classes">The model's classes; every label is below it.</param>
    /// <returns>The file's bytes.</returns>
    /// <exception cref="ArgumentException">The sizes disagree or a label is out of range.</exception>
    public static byte[] Encode(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int features, int classes)
    {
        if (features < 1) throw new ArgumentException($"features must be at least 1, but was {features}.", nameof(features));
        if (classes < 1) throw new ArgumentException($"classes must be at least 1, but was {classes}.", nameof(classes));
        if ((long)labels.Length * features != inputs.Length)
            throw new ArgumentException($"{labels.Length} rows of {features} features need {(long)labels.Length * features} inputs, but {inputs.Length} were given.", nameof(inputs));
        foreach (int label in labels)
            if (label < 0 || label >= classes) throw new ArgumentException($"label {label} is outside 0..{classes - 1}.", nameof(labels));
        var bytes = new byte[HeaderBytes + (long)inputs.Length * sizeof(float) + (long)labels.Length * sizeof(int)];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), labels.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), features);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), classes);
        var body = bytes.AsSpan(HeaderBytes);
        for (int i = 0; i < inputs.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(body.Slice(i * sizeof(float)), inputs[i]);
        body = body.Slice(inputs.Length * sizeof(float));
        for (int i = 0; i < labels.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(body.Slice(i * sizeof(int)), labels[i]);
        return bytes;
    }

    /// <summary>Reads a file into a data set of raw inputs.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The rows (inputs as stored, not preprocessed) and labels.</returns>
    /// <exception cref="TrainingException">The file is missing, truncated, not this format, or holds a label out of range.</exception>
    internal static Dataset Read(string path)
    {
        if (!File.Exists(path)) throw new TrainingException($"labeled data file '{path}' does not exist.");
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < HeaderBytes || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
            throw new TrainingException($"labeled data file '{path}' is not one: it does not start with the magic 'ARNLBL01' (docs/lifecycle.md).");
        int rows = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        int features = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        int classes = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16));
        if (rows < 0 || features < 1 || classes < 1)
            throw new TrainingException($"labeled data file '{path}' is damaged: its header gives {rows} rows of {features} features and {classes} classes.");
        long expected = HeaderBytes + (long)rows * features * sizeof(float) + (long)rows * sizeof(int);
        if (bytes.Length != expected)
            throw new TrainingException($"labeled data file '{path}' is damaged: {rows} rows of {features} features need {expected} bytes, but it holds {bytes.Length}.");
        var inputs = new float[(long)rows * features];
        var labels = new int[rows];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(bytes.AsSpan(HeaderBytes, inputs.Length * sizeof(float))).CopyTo(inputs);
            MemoryMarshal.Cast<byte, int>(bytes.AsSpan(HeaderBytes + inputs.Length * sizeof(float))).CopyTo(labels);
        }
        else
        {
            for (int i = 0; i < inputs.Length; i++) inputs[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(HeaderBytes + i * sizeof(float)));
            for (int i = 0; i < rows; i++) labels[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(HeaderBytes + inputs.Length * sizeof(float) + i * sizeof(int)));
        }
        for (int i = 0; i < rows; i++)
            if (labels[i] < 0 || labels[i] >= classes)
                throw new TrainingException($"labeled data file '{path}' is damaged: row {i} has label {labels[i]}, outside 0..{classes - 1}.");
        foreach (float x in inputs)
            if (!float.IsFinite(x)) throw new TrainingException($"labeled data file '{path}' holds a value that is not finite ({x}).");
        return new Dataset(inputs, labels, features, classes);
    }
}
