using AllReduceNet.Kernels;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Privacy;

/// <summary>
/// Per-example clipping for the MLP, done in batch ("ghost clipping", Goodfellow 2015; Opacus' ghost clipping).
/// For a dense layer the gradient of example i is the outer product a_i ⊗ dz_i of its input row and its output
/// gradient row (plus dz_i for the bias), so its squared norm is (|a_i|² + 1)·|dz_i|²: the norms come from two row
/// norms per layer, without materializing any per-example gradient. The clipped sum Σ_i s_i g_i is then
/// aᵀ·diag(s)·dz per layer: the rows of dz are scaled by s_i = min(1, C/‖g_i‖) and the layer gradient computed by
/// one matrix product, the one the ordinary backward pass does (which therefore skips it: Mlp.BackwardOutputGradients),
/// so DP costs the non-private step plus the row norms and the row scaling.
/// </summary>
internal sealed class PerExampleClipping : IDisposable
{
    private readonly IKernelBackend _backend;
    private readonly DeviceBuffer<float> _inputNorms, _outputNorms, _factors;
    private readonly float[] _hostInputNorms, _hostOutputNorms;
    private readonly double[] _squaredNorms;

    /// <summary>Buffers for batches of up to <paramref name="maxBatch"/> examples.</summary>
    public PerExampleClipping(IKernelBackend backend, int maxBatch)
    {
        _backend = backend;
        _inputNorms = backend.Allocate<float>(maxBatch);
        _outputNorms = backend.Allocate<float>(maxBatch);
        _factors = backend.Allocate<float>(maxBatch);
        _hostInputNorms = new float[maxBatch];
        _hostOutputNorms = new float[maxBatch];
        _squaredNorms = new double[maxBatch];
        Norms = new float[maxBatch];
        Factors = new float[maxBatch];
    }

    /// <summary>Each example's gradient norm before clipping, from the last <see cref="ClipAndSum"/> (first n entries).</summary>
    public float[] Norms { get; }

    /// <summary>Each example's clipping factor min(1, C/‖g_i‖), from the last <see cref="ClipAndSum"/>.</summary>
    public float[] Factors { get; }

    /// <summary>
    /// After <see cref="Mlp.BackwardOutputGradients"/> of <paramref name="n"/> rows whose output gradient was the per-example loss
    /// gradient (not divided by the batch): computes every example's gradient norm, clips each example to
    /// <paramref name="clipNorm"/> and leaves the sum of the clipped per-example gradients in the model's gradient
    /// buffers. The rows of the output gradients are scaled in place.
    /// </summary>
    public void ClipAndSum(Mlp model, Activations activations, DeviceBuffer<float> input, DeviceBuffer<float> logitsGradient, int n, float clipNorm)
    {
        var sizes = model.Layout.Sizes;
        int layers = model.Layout.LayerCount;
        var squared = _squaredNorms.AsSpan(0, n);
        squared.Clear();
        for (int l = 0; l < layers; l++)
        {
            var (a, dz) = LayerRows(activations, input, logitsGradient, l, layers);
            _backend.RowNorms(a, n, sizes[l], _inputNorms);
            _backend.RowNorms(dz, n, sizes[l + 1], _outputNorms);
            _inputNorms.CopyTo(_hostInputNorms.AsSpan(0, n));
            _outputNorms.CopyTo(_hostOutputNorms.AsSpan(0, n));
            for (int i = 0; i < n; i++)
            {
                double an = _hostInputNorms[i], zn = _hostOutputNorms[i];
                squared[i] += (an * an + 1) * zn * zn;
            }
        }
        for (int i = 0; i < n; i++)
        {
            Norms[i] = (float)Math.Sqrt(squared[i]);
            Factors[i] = PrivacyOps.ClipFactor(Norms[i], clipNorm);
        }
        _factors.CopyFrom(Factors.AsSpan(0, n));
        for (int l = 0; l < layers; l++)
        {
            var (a, dz) = LayerRows(activations, input, logitsGradient, l, layers);
            _backend.ScaleRows(dz, n, sizes[l + 1], _factors);
            _backend.MatMul(a, dz, model.GradientTensors[2 * l], sizes[l], n, sizes[l + 1], transposeA: true);
            _backend.SumRows(dz, n, sizes[l + 1], model.GradientTensors[2 * l + 1]);
        }
    }

    /// <summary>Layer l's input rows and its output gradient rows as the backward pass leaves them (ReLU already
    /// applied in place): the last layer's is the logits gradient, the others' are the activations' gradients.</summary>
    private static (DeviceBuffer<float> Input, DeviceBuffer<float> OutputGradient) LayerRows(Activations activations,
        DeviceBuffer<float> input, DeviceBuffer<float> logitsGradient, int layer, int layers) =>
        (layer == 0 ? input : activations.Outputs[layer - 1], layer == layers - 1 ? logitsGradient : activations.Gradients[layer]);

    public void Dispose()
    {
        _inputNorms.Dispose();
        _outputNorms.Dispose();
        _factors.Dispose();
    }
}
