using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Optim;

/// <summary>
/// Applies the update rule to parameters that live in the kernel backend's buffers (a model's tensors for ddp and the
/// pipeline, one shard for zero and the parameter servers), keeping the optimizer state beside them on the same
/// backend, for those parameters only. Nothing crosses to the host during a step: the arithmetic is the backend's
/// SgdStep / AdamStep, run tensor by tensor. Both are element-wise, so stepping the tensors one by one computes
/// bitwise what one step over their concatenation would.
/// </summary>
internal sealed class Optimizer : IDisposable
{
    private readonly IKernelBackend _backend;
    private readonly OptimizerSettings _settings;
    private readonly LearningRateSchedule? _schedule;
    private readonly IReadOnlyList<DeviceBuffer<float>> _parameters, _gradients;
    // _slots[slot][tensor]: momentum, or Adam's first and second moments, shaped like the parameter tensors.
    private readonly DeviceBuffer<float>[][] _slots;

    /// <summary>An optimizer over <paramref name="parameters"/>, updated from the same-shaped <paramref name="gradients"/>;
    /// neither list is owned (the caller disposes the buffers). Concatenated, the tensors are a contiguous range of the
    /// flat parameter vector; a zero-length range is allowed.</summary>
    public Optimizer(IKernelBackend backend, OptimizerSettings settings, IReadOnlyList<DeviceBuffer<float>> parameters,
        IReadOnlyList<DeviceBuffer<float>> gradients, LearningRateSchedule? schedule = null)
    {
        if (parameters.Count != gradients.Count || parameters.Where((p, i) => p.Length != gradients[i].Length).Any())
            throw new ArgumentException("each gradient tensor must match its parameter tensor's length.", nameof(gradients));
        _backend = backend;
        _settings = settings;
        _schedule = schedule;
        _parameters = parameters;
        _gradients = gradients;
        Length = parameters.Sum(p => p.Length);
        _slots = new DeviceBuffer<float>[settings.SlotCount][];
        for (int s = 0; s < _slots.Length; s++)
            _slots[s] = parameters.Select(p => backend.Allocate<float>(p.Length)).ToArray();
    }

    /// <summary>Elements updated: the tensors' total length.</summary>
    public int Length { get; }

    public long StepCount { get; private set; }

    /// <summary>Bytes of optimizer state (momentum or Adam moments) this instance holds.</summary>
    public long StateBytes => (long)_slots.Length * Length * sizeof(float);

    /// <summary>Updates the parameter tensors in place from the gradient tensors, on the backend.</summary>
    public void Step()
    {
        StepCount++;
        if (Length == 0) return;
        float lr = _schedule?.Current ?? _settings.LearningRate;
        for (int t = 0; t < _parameters.Count; t++)
        {
            if (_settings.Kind == OptimizerKind.Adam)
                _backend.AdamStep(_parameters[t], _gradients[t], _slots[0][t], _slots[1][t], (int)StepCount,
                    new AdamOptions(lr, weightDecay: _settings.WeightDecay));
            else
                _backend.SgdStep(_parameters[t], _gradients[t], _slots[0][t],
                    new SgdOptions(lr, _settings.Momentum, _settings.WeightDecay));
        }
    }

    /// <summary>Copies state slot <paramref name="slot"/>, tensors concatenated, into <paramref name="destination"/> (<see cref="Length"/> long).</summary>
    public void ReadSlot(int slot, Span<float> destination)
    {
        int offset = 0;
        foreach (var tensor in _slots[slot])
        {
            tensor.CopyTo(destination.Slice(offset, tensor.Length));
            offset += tensor.Length;
        }
    }

    /// <summary>Restores the state (from a checkpoint): this optimizer's range starts at <paramref name="offset"/> of each full slot vector.</summary>
    public void Restore(IReadOnlyList<float[]> slots, int offset, long stepCount)
    {
        StepCount = stepCount;
        for (int s = 0; s < _slots.Length; s++)
        {
            int at = offset;
            foreach (var tensor in _slots[s])
            {
                tensor.CopyFrom(slots[s].AsSpan(at, tensor.Length));
                at += tensor.Length;
            }
        }
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
            foreach (var tensor in slot) tensor.Dispose();
    }
}
