using System.Numerics.Tensors;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Serving;

/// <summary>
/// One version of one model, ready to answer: the checkpoint's parameters in an <see cref="Mlp"/> on the CPU kernel
/// backend, with its own buffers. Its <see cref="InferenceQueue"/> batches requests and is the only caller in
/// the server; the lock keeps direct callers (tests) safe, as the buffers are shared.
/// </summary>
internal sealed class ServedModel : IDisposable
{
    /// <summary>Rows per forward pass: bounds the buffers whatever the request's batch.</summary>
    internal const int ChunkRows = 256;

    private readonly object _gate = new();
    private readonly IKernelBackend _backend;
    private readonly Mlp _mlp;
    private readonly Activations _activations;
    private readonly DeviceBuffer<float> _input, _probabilities;

    public ServedModel(string name, string version, Checkpoint checkpoint, Preprocessing? preprocess = null)
    {
        Name = name;
        Version = version;
        Preprocess = preprocess ?? Preprocessing.Identity;
        _backend = KernelBackends.Create("cpu");
        _mlp = new Mlp(_backend, checkpoint.LayerSizes);
        _mlp.WriteParameters(checkpoint.Parameters);
        _activations = _mlp.CreateActivations(ChunkRows);
        _input = _backend.Allocate<float>(ChunkRows * _mlp.InputSize);
        _probabilities = _backend.Allocate<float>(ChunkRows * _mlp.OutputSize);
    }

    public string Name { get; }
    public string Version { get; }
    public int InputSize => _mlp.InputSize;

    /// <summary>Applied to every input value before the forward pass: the standardization the model was trained with
    /// (its version's preprocess.json), or the identity when there is none.</summary>
    public Preprocessing Preprocess { get; }
    public int Classes => _mlp.OutputSize;

    /// <summary>Class probabilities (rows x <see cref="Classes"/>) and the most probable class of each row.</summary>
    /// <param name="input">rows x <see cref="InputSize"/> floats, row-major.</param>
    /// <param name="rows">Number of rows, at least 1.</param>
    public (float[] Probabilities, long[] Classes) Predict(ReadOnlySpan<float> input, int rows)
    {
        if (Preprocess != Preprocessing.Identity)
        {
            // A copy: the caller's rows (a request's own array when it runs alone) stay as sent.
            var prepared = input.ToArray();
            Preprocess.Apply(prepared);
            input = prepared;
        }
        var probabilities = new float[rows * Classes];
        var classes = new long[rows];
        lock (_gate)
        {
            for (int start = 0; start < rows; start += ChunkRows)
            {
                int n = Math.Min(ChunkRows, rows - start);
                _input.CopyFrom(input.Slice(start * InputSize, n * InputSize));
                var logits = _mlp.Forward(_activations, _input, n);
                _backend.Softmax(logits, _probabilities, n, Classes);
                _probabilities.CopyTo(0, probabilities.AsSpan(start * Classes, n * Classes));
            }
        }
        for (int r = 0; r < rows; r++)
            classes[r] = TensorPrimitives.IndexOfMax<float>(probabilities.AsSpan(r * Classes, Classes));   // the first of equal maxima
        return (probabilities, classes);
    }

    public void Dispose()
    {
        _input.Dispose();
        _probabilities.Dispose();
        _activations.Dispose();
        _mlp.Dispose();
        _backend.Dispose();
    }
}
