using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Model;

/// <summary>
/// A stack of dense layers computed by a kernel backend: ReLU after every layer except the model's last (whose
/// outputs are logits). An Mlp may be a contiguous slice of a larger model (a pipeline stage); then
/// the constructor's endsWithLogits says whether its last layer is the model's last. The parameters and their
/// gradients live in the backend's buffers for the model's whole life (<see cref="ParameterTensors"/>,
/// <see cref="GradientTensors"/>), where the optimizer updates them; they cross to the host only as a flat vector in
/// <see cref="ParameterLayout"/> order, for checkpoints and for the collectives.
/// </summary>
internal sealed class Mlp : IDisposable
{
    private readonly IKernelBackend _backend;
    private readonly DeviceBuffer<float>[] _weights, _biases, _weightGradients, _biasGradients;
    private readonly bool _endsWithLogits;

    public Mlp(IKernelBackend backend, IReadOnlyList<int> sizes, bool endsWithLogits = true)
    {
        _backend = backend;
        _endsWithLogits = endsWithLogits;
        Layout = new ParameterLayout(sizes);
        int n = Layout.LayerCount;
        _weights = new DeviceBuffer<float>[n];
        _biases = new DeviceBuffer<float>[n];
        _weightGradients = new DeviceBuffer<float>[n];
        _biasGradients = new DeviceBuffer<float>[n];
        for (int l = 0; l < n; l++)
        {
            _weights[l] = backend.Allocate<float>(Layout.WeightCount(l));
            _weightGradients[l] = backend.Allocate<float>(Layout.WeightCount(l));
            _biases[l] = backend.Allocate<float>(Layout.Sizes[l + 1]);
            _biasGradients[l] = backend.Allocate<float>(Layout.Sizes[l + 1]);
        }
        ParameterTensors = Interleave(_weights, _biases);
        GradientTensors = Interleave(_weightGradients, _biasGradients);
    }

    /// <summary>The parameter buffers in <see cref="ParameterLayout"/> order (layer 0's weights, its bias, layer 1's
    /// weights, ...): concatenated, they are the flat parameter vector.</summary>
    public IReadOnlyList<DeviceBuffer<float>> ParameterTensors { get; }

    /// <summary>The gradient buffers, in the order and shapes of <see cref="ParameterTensors"/>; the backward pass overwrites them.</summary>
    public IReadOnlyList<DeviceBuffer<float>> GradientTensors { get; }

    private static DeviceBuffer<float>[] Interleave(DeviceBuffer<float>[] weights, DeviceBuffer<float>[] biases) =>
        weights.Zip(biases, (w, b) => new[] { w, b }).SelectMany(pair => pair).ToArray();

    public ParameterLayout Layout { get; }
    public IKernelBackend Backend => _backend;
    public int InputSize => Layout.Sizes[0];
    public int OutputSize => Layout.Sizes[^1];

    public Activations CreateActivations(int maxBatch) => new(_backend, Layout.Sizes, maxBatch);

    private bool Relu(int layer) => !(_endsWithLogits && layer == Layout.LayerCount - 1);

    /// <summary>Runs the layers on <paramref name="n"/> rows of <paramref name="input"/>; returns the buffer holding the output.</summary>
    public DeviceBuffer<float> Forward(Activations activations, DeviceBuffer<float> input, int n)
    {
        var x = input;
        for (int l = 0; l < Layout.LayerCount; l++)
        {
            _backend.DenseForward(x, _weights[l], _biases[l], activations.Outputs[l], n, Layout.Sizes[l], Layout.Sizes[l + 1], Relu(l));
            x = activations.Outputs[l];
        }
        return x;
    }

    /// <summary>
    /// Back-propagates <paramref name="outputGradient"/> (dL/d output, n rows; overwritten) through the layers of the
    /// last <see cref="Forward"/> on the same activations, last layer first. After each layer's parameter gradients are
    /// ready, <paramref name="layerReady"/> is called with the layer index, so its bucket can start communicating
    /// while earlier layers are still being computed. <paramref name="inputGradient"/> receives dL/d input, or null.
    /// </summary>
    public void Backward(Activations activations, DeviceBuffer<float> input, DeviceBuffer<float> outputGradient,
        DeviceBuffer<float>? inputGradient, int n, Action<int>? layerReady = null)
    {
        var dy = outputGradient;
        for (int l = Layout.LayerCount - 1; l >= 0; l--)
        {
            var x = l == 0 ? input : activations.Outputs[l - 1];
            var dx = l == 0 ? inputGradient : activations.Gradients[l - 1];
            _backend.DenseBackward(x, _weights[l], activations.Outputs[l], dy, dx, _weightGradients[l], _biasGradients[l],
                n, Layout.Sizes[l], Layout.Sizes[l + 1], Relu(l));
            layerReady?.Invoke(l);
            if (dx is null) break;
            dy = dx;
        }
    }

    /// <summary>
    /// <see cref="Backward"/> for ddp --reproducible: the same dX, but each layer's weight and bias gradients summed over
    /// the parts that end at <paramref name="partEnds"/> (last entry = <paramref name="n"/>) in the fixed tree order of
    /// <see cref="TreeOrderedGradientOps"/>, so they do not depend on how many parts this call holds. A layer is announced
    /// to <paramref name="layerReady"/> before its dX is computed, so its AllReduce overlaps that matmul too.
    /// </summary>
    public void BackwardTreeOrdered(Activations activations, DeviceBuffer<float> input, DeviceBuffer<float> outputGradient,
        int n, ReadOnlySpan<int> partEnds, Action<int>? layerReady = null)
    {
        var dy = outputGradient;
        for (int l = Layout.LayerCount - 1; l >= 0; l--)
        {
            int inFeatures = Layout.Sizes[l], outFeatures = Layout.Sizes[l + 1];
            // ReLU's gradient in place (dy becomes dz); no dX yet.
            if (Relu(l)) _backend.DenseBackwardData(_weights[l], activations.Outputs[l], dy, null, n, inFeatures, outFeatures, relu: true);
            var x = l == 0 ? input : activations.Outputs[l - 1];
            _backend.TreeOrderedDenseGradients(x, dy, _weightGradients[l], _biasGradients[l], partEnds, inFeatures, outFeatures);
            layerReady?.Invoke(l);
            if (l == 0) break;
            var dx = activations.Gradients[l - 1];
            _backend.MatMul(dy, _weights[l], dx, n, outFeatures, inFeatures, transposeB: true);
            dy = dx;
        }
    }

    /// <summary>
    /// <see cref="Backward"/> without the parameter gradients: leaves every layer's output gradient dz (ReLU applied)
    /// in <paramref name="activations"/> (the last layer's in <paramref name="outputGradient"/>) and the gradient
    /// buffers untouched. DP-SGD computes the parameter gradients itself, from dz rows scaled per example.
    /// </summary>
    public void BackwardOutputGradients(Activations activations, DeviceBuffer<float> outputGradient, int n)
    {
        var dy = outputGradient;
        for (int l = Layout.LayerCount - 1; l >= 0; l--)
        {
            var dx = l == 0 ? null : activations.Gradients[l - 1];
            _backend.DenseBackwardData(_weights[l], activations.Outputs[l], dy, dx, n, Layout.Sizes[l], Layout.Sizes[l + 1], Relu(l));
            if (dx is null) break;
            dy = dx;
        }
    }

    public void ReadParameters(Span<float> flat)
    {
        for (int l = 0; l < Layout.LayerCount; l++)
            ReadPair(_weights[l], _biases[l], flat.Slice(Layout.LayerOffset(l), Layout.LayerLength(l)), l);
    }

    public void WriteParameters(ReadOnlySpan<float> flat)
    {
        for (int l = 0; l < Layout.LayerCount; l++)
        {
            var slice = flat.Slice(Layout.LayerOffset(l), Layout.LayerLength(l));
            _weights[l].CopyFrom(slice[..Layout.WeightCount(l)]);
            _biases[l].CopyFrom(slice[Layout.WeightCount(l)..]);
        }
    }

    /// <summary>Copies layer <paramref name="layer"/>'s gradients (weights then bias) into <paramref name="bucket"/>.</summary>
    public void ReadLayerGradients(int layer, Span<float> bucket) => ReadPair(_weightGradients[layer], _biasGradients[layer], bucket, layer);

    /// <summary>Overwrites layer <paramref name="layer"/>'s gradients with <paramref name="bucket"/> (weights then bias),
    /// for instance with the bucket's sum over the ranks.</summary>
    public void WriteLayerGradients(int layer, ReadOnlySpan<float> bucket)
    {
        _weightGradients[layer].CopyFrom(bucket[..Layout.WeightCount(layer)]);
        _biasGradients[layer].CopyFrom(bucket.Slice(Layout.WeightCount(layer), Layout.Sizes[layer + 1]));
    }

    public void ReadGradients(Span<float> flat)
    {
        for (int l = 0; l < Layout.LayerCount; l++)
            ReadLayerGradients(l, flat.Slice(Layout.LayerOffset(l), Layout.LayerLength(l)));
    }

    private void ReadPair(DeviceBuffer<float> weights, DeviceBuffer<float> bias, Span<float> destination, int layer)
    {
        weights.CopyTo(destination[..Layout.WeightCount(layer)]);
        bias.CopyTo(destination.Slice(Layout.WeightCount(layer), Layout.Sizes[layer + 1]));
    }

    public void Dispose()
    {
        foreach (var b in _weights) b.Dispose();
        foreach (var b in _biases) b.Dispose();
        foreach (var b in _weightGradients) b.Dispose();
        foreach (var b in _biasGradients) b.Dispose();
    }
}
