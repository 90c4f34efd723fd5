using System.Diagnostics;
using System.Numerics.Tensors;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies.TensorParallel;

/// <summary>
/// One rank's slice of the MLP under --strategy tensor (<see cref="TensorParallelPlan"/>), with the buffers of one
/// pass over the whole global batch. Every rank sees every example; what it computes is its share of each layer's
/// products. Communication per step: one AllReduce of a row layer's output (batch x width) in the forward pass, and,
/// for a column layer that is not the first, one AllReduce of its input gradient in the backward pass. The default
/// 784-256-128-10 model therefore sums one 128 x 128 matrix per step and nothing else: no gradient crosses between
/// ranks, since each rank holds the only copy of its weights' gradient.
/// </summary>
internal sealed class TensorParallelModel : IDisposable
{
    private readonly IKernelBackend _backend;
    private readonly Communicator _world;
    private readonly CollectiveOptions _options;
    private readonly PhaseTimings _phases;
    private readonly CommunicationClock _clock;
    private readonly TensorParallelPlan _plan;
    private readonly DeviceBuffer<float>[] _weights, _biases, _weightGradients, _biasGradients, _outputs, _outputGradients;
    // Where a sum over the ranks is staged when the backend's buffers are not host memory (ILGPU).
    private readonly float[] _staging;

    public TensorParallelModel(IKernelBackend backend, Communicator world, CollectiveOptions options, PhaseTimings phases,
        CommunicationClock clock, TensorParallelPlan plan, IReadOnlyList<int> sizes, int maxBatch)
    {
        _backend = backend;
        _world = world;
        _options = options;
        _phases = phases;
        _clock = clock;
        _plan = plan;
        int layers = plan.Roles.Length;
        _weights = new DeviceBuffer<float>[layers];
        _biases = new DeviceBuffer<float>[layers];
        _weightGradients = new DeviceBuffer<float>[layers];
        _biasGradients = new DeviceBuffer<float>[layers];
        _outputs = new DeviceBuffer<float>[layers];
        _outputGradients = new DeviceBuffer<float>[layers];
        int widest = 0;
        for (int l = 0; l < layers; l++)
        {
            int weights = plan.LocalIn[l] * plan.LocalOut[l];
            _weights[l] = backend.Allocate<float>(weights);
            _weightGradients[l] = backend.Allocate<float>(weights);
            _biases[l] = backend.Allocate<float>(plan.LocalOut[l]);
            _biasGradients[l] = backend.Allocate<float>(plan.LocalOut[l]);
            _outputs[l] = backend.Allocate<float>(maxBatch * plan.LocalOut[l]);
            _outputGradients[l] = backend.Allocate<float>(maxBatch * plan.LocalOut[l]);
            widest = Math.Max(widest, Math.Max(sizes[l], sizes[l + 1]));
        }
        _staging = _outputs[0].TryGetHostMemory(out _) ? [] : new float[maxBatch * widest];
        ParameterTensors = _weights.Zip(_biases, (w, b) => new[] { w, b }).SelectMany(pair => pair).ToArray();
        GradientTensors = _weightGradients.Zip(_biasGradients, (w, b) => new[] { w, b }).SelectMany(pair => pair).ToArray();
    }

    /// <summary>This rank's parameter buffers, per layer its weights then its bias: the local vector's order.</summary>
    public IReadOnlyList<DeviceBuffer<float>> ParameterTensors { get; }

    /// <summary>Their gradients, same shapes; the backward pass overwrites them.</summary>
    public IReadOnlyList<DeviceBuffer<float>> GradientTensors { get; }

    private bool Relu(int layer) => layer != _plan.Roles.Length - 1;

    /// <summary>Runs the layers on <paramref name="n"/> rows of <paramref name="input"/>; returns the full logits, the same on every rank.</summary>
    public DeviceBuffer<float> Forward(DeviceBuffer<float> input, int n)
    {
        var x = input;
        for (int l = 0; l < _plan.Roles.Length; l++)
        {
            int localIn = _plan.LocalIn[l], localOut = _plan.LocalOut[l];
            var y = _outputs[l];
            if (_plan.Roles[l] != TensorLayerRole.Row)
                _backend.DenseForward(x, _weights[l], _biases[l], y, n, localIn, localOut, Relu(l));
            else
            {
                // The bias is added once, by rank 0, before the sum; ReLU after it, on the sum.
                if (_plan.Rank == 0) _backend.DenseForward(x, _weights[l], _biases[l], y, n, localIn, localOut, relu: false);
                else _backend.MatMul(x, _weights[l], y, n, localIn, localOut);
                SumOverRanks(y, n * localOut, Relu(l));
            }
            x = y;
        }
        return x;
    }

    /// <summary>
    /// Back-propagates <paramref name="logitsGradient"/> (n rows, the loss already divided by the global batch) through the
    /// layers of the last <see cref="Forward"/> on <paramref name="input"/>, leaving this rank's parameter gradients in
    /// <see cref="GradientTensors"/>: the whole batch's, so no rank needs another's.
    /// </summary>
    public void Backward(DeviceBuffer<float> input, DeviceBuffer<float> logitsGradient, int n)
    {
        int last = _plan.Roles.Length - 1;
        for (int l = last; l >= 0; l--)
        {
            var x = l == 0 ? input : _outputs[l - 1];
            var dx = l == 0 ? null : _outputGradients[l - 1];
            _backend.DenseBackward(x, _weights[l], _outputs[l], l == last ? logitsGradient : _outputGradients[l], dx, _weightGradients[l], _biasGradients[l],
                n, _plan.LocalIn[l], _plan.LocalOut[l], Relu(l));
            // A column layer's input gradient is a partial sum over its columns, so over the ranks; a row layer's is
            // already this rank's columns of the full one, and a replicated layer's is the full one.
            if (dx is not null && _plan.Roles[l] == TensorLayerRole.Column) SumOverRanks(dx, n * _plan.LocalIn[l], relu: false);
        }
    }

    /// <summary>Sums <paramref name="count"/> floats of <paramref name="buffer"/> over the ranks in place (every rank gets the
    /// same bits), then applies ReLU to the sum when asked.</summary>
    private void SumOverRanks(DeviceBuffer<float> buffer, int count, bool relu)
    {
        bool host = buffer.TryGetHostMemory(out var memory);
        var span = host ? memory.Span[..count] : _staging.AsSpan(0, count);
        if (!host) buffer.CopyTo(span);
        using (_phases.Measure(TrainingPhase.AllReduceWait))
        {
            long communication = Stopwatch.GetTimestamp();
            _world.AllReduce(span, ReduceOp.Sum, _options);
            _clock.Add(communication);
        }
        if (relu) TensorPrimitives.Max(span, 0f, span);
        if (!host) buffer.CopyFrom(span);
    }

    public void ReadParameters(Span<float> local)
    {
        int at = 0;
        foreach (var tensor in ParameterTensors)
        {
            tensor.CopyTo(local.Slice(at, tensor.Length));
            at += tensor.Length;
        }
    }

    public void WriteParameters(ReadOnlySpan<float> local)
    {
        int at = 0;
        foreach (var tensor in ParameterTensors)
        {
            tensor.CopyFrom(local.Slice(at, tensor.Length));
            at += tensor.Length;
        }
    }

    public void Dispose()
    {
        foreach (var group in new[] { _weights, _biases, _weightGradients, _biasGradients, _outputs, _outputGradients })
            foreach (var buffer in group) buffer.Dispose();
    }
}
