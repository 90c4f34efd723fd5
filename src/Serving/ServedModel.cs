using System.Numerics.Tensors;
using AllReduceNet.Training.Checkpoints;

namespace AllReduceNet.Serving;

/// <summary>
/// One version of one model, ready to answer: class probabilities and the most probable class for rows of
/// <see cref="InputSize"/> floats. Two kinds exist, chosen by the file in the version directory: a Train.dll
/// checkpoint (<see cref="CheckpointModel"/>, model.ckpt) and an ONNX model run by ONNX Runtime
/// (<see cref="OnnxModel"/>, model.onnx). Both apply the version's preprocess.json first, run in chunks of
/// <see cref="ChunkRows"/>, and take the class as the first of equal maxima. Its <see cref="InferenceQueue"/> batches
/// requests and is the only caller in the server.
/// </summary>
internal abstract class ServedModel : IDisposable
{
    /// <summary>Rows per forward pass: bounds the buffers whatever the request's batch.</summary>
    internal const int ChunkRows = 256;

    protected ServedModel(string name, string version, Preprocessing? preprocess)
    {
        Name = name;
        Version = version;
        Preprocess = preprocess ?? Preprocessing.Identity;
    }

    public string Name { get; }
    public string Version { get; }

    /// <summary>Applied to every input value before the forward pass: the standardization the model was trained with
    /// (its version's preprocess.json), or the identity when there is none.</summary>
    public Preprocessing Preprocess { get; }

    /// <summary>What the model saw in training (its version's reference.json), for drift monitoring; null when there is none.</summary>
    public AllReduceNet.Training.Reference.ReferenceStatistics? Reference { get; init; }

    /// <summary>Features per row.</summary>
    public abstract int InputSize { get; }

    /// <summary>Probabilities per row.</summary>
    public abstract int Classes { get; }

    /// <summary>The model's one input as requests name it: FP32 [-1, <see cref="InputSize"/>].</summary>
    public abstract ModelTensor Input { get; }

    /// <summary>The platform reported in the model metadata (as Triton names them).</summary>
    public abstract string Platform { get; }

    /// <summary>Class probabilities (rows x <see cref="Classes"/>) and the most probable class of each row.</summary>
    /// <param name="input">rows x <see cref="InputSize"/> floats, row-major; not modified.</param>
    /// <param name="rows">Number of rows, at least 1.</param>
    public (float[] Probabilities, long[] Classes) Predict(float[] input, int rows)
    {
        if (Preprocess != Preprocessing.Identity)
        {
            // A copy: the caller's rows (a request's own array when it runs alone) stay as sent.
            input = (float[])input.Clone();
            Preprocess.Apply(input, InputSize);
        }
        var probabilities = new float[rows * Classes];
        for (int start = 0; start < rows; start += ChunkRows)
        {
            int n = Math.Min(ChunkRows, rows - start);
            Forward(input.AsMemory(start * InputSize, n * InputSize), n, probabilities.AsSpan(start * Classes, n * Classes));
        }
        var classes = new long[rows];
        for (int r = 0; r < rows; r++)
            classes[r] = TensorPrimitives.IndexOfMax<float>(probabilities.AsSpan(r * Classes, Classes));   // the first of equal maxima
        return (probabilities, classes);
    }

    /// <summary>Computes the class probabilities of up to <see cref="ChunkRows"/> preprocessed rows.</summary>
    /// <param name="input">rows x <see cref="InputSize"/> floats.</param>
    /// <param name="rows">Number of rows, 1 to <see cref="ChunkRows"/>.</param>
    /// <param name="probabilities">Receives rows x <see cref="Classes"/> probabilities.</param>
    protected abstract void Forward(ReadOnlyMemory<float> input, int rows, Span<float> probabilities);

    public abstract void Dispose();
}
