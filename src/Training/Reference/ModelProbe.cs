using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Reference;

/// <summary>
/// Runs a checkpoint's MLP on preprocessed rows and keeps what drift monitoring needs from the pass: each row's class
/// probabilities and its penultimate layer's activations (the inputs themselves for a model without a hidden layer).
/// Uses its own SIMD CPU backend and buffers, so it never shares state with a served model's forward pass; not thread-safe.
/// </summary>
internal sealed class ModelProbe : IDisposable
{
    private const int ChunkRows = 256;
    private readonly IKernelBackend _backend;
    private readonly Mlp _mlp;
    private readonly Activations _activations;
    private readonly DeviceBuffer<float> _input, _probabilities;

    public ModelProbe(Checkpoint checkpoint)
    {
        _backend = KernelBackends.Create("cpu", 1);
        _mlp = new Mlp(_backend, checkpoint.LayerSizes);
        _mlp.WriteParameters(checkpoint.Parameters);
        _activations = _mlp.CreateActivations(ChunkRows);
        _input = _backend.Allocate<float>(ChunkRows * _mlp.InputSize);
        _probabilities = _backend.Allocate<float>(ChunkRows * _mlp.OutputSize);
        ActivationLayer = _mlp.Layout.LayerCount - 2;
        ActivationWidth = ActivationLayer < 0 ? _mlp.InputSize : checkpoint.LayerSizes[ActivationLayer + 1];
    }

    /// <summary>The penultimate layer's index, or -1 when the model has one layer and the inputs stand in for it.</summary>
    public int ActivationLayer { get; }

    /// <summary>Length of one activation vector.</summary>
    public int ActivationWidth { get; }

    public int InputSize => _mlp.InputSize;
    public int Classes => _mlp.OutputSize;

    /// <summary>Probabilities (rows x classes) and penultimate activations (rows x <see cref="ActivationWidth"/>) of preprocessed rows.</summary>
    /// <param name="input">rows x <see cref="InputSize"/> preprocessed values, row-major.</param>
    /// <param name="rows">Number of rows.</param>
    public (float[] Probabilities, float[] Activations) Run(ReadOnlySpan<float> input, int rows)
    {
        var probabilities = new float[(long)rows * Classes];
        var activations = new float[(long)rows * ActivationWidth];
        for (int start = 0; start < rows; start += ChunkRows)
        {
            int n = Math.Min(ChunkRows, rows - start);
            var chunk = input.Slice(start * InputSize, n * InputSize);
            _input.CopyFrom(chunk);
            var logits = _mlp.Forward(_activations, _input, n);
            _backend.Softmax(logits, _probabilities, n, Classes);
            _probabilities.CopyTo(0, probabilities.AsSpan(start * Classes, n * Classes));
            if (ActivationLayer < 0) chunk.CopyTo(activations.AsSpan(start * ActivationWidth, n * ActivationWidth));
            else _activations.Outputs[ActivationLayer].CopyTo(0, activations.AsSpan(start * ActivationWidth, n * ActivationWidth));
        }
        return (probabilities, activations);
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
