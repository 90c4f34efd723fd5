using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Optim;

/// <summary>
/// Applies the update rule to a contiguous range of the flat parameter vector (the whole vector for ddp, one shard for
/// zero and the parameter servers, one stage's layers for the pipeline), keeping the optimizer state for that range
/// only. The arithmetic is the kernel backend's SgdStep / AdamStep.
/// </summary>
internal sealed class Optimizer : IDisposable
{
    private readonly IKernelBackend _backend;
    private readonly OptimizerSettings _settings;
    private readonly LearningRateSchedule? _schedule;
    private readonly DeviceBuffer<float> _parameters, _gradients;
    private readonly DeviceBuffer<float>[] _slots;

    public Optimizer(IKernelBackend backend, OptimizerSettings settings, int length, LearningRateSchedule? schedule = null)
    {
        _schedule = schedule;
        _backend = backend;
        _settings = settings;
        Length = length;
        // A zero-length range (a shard past the end of a small model) still gets valid, empty buffers.
        _parameters = backend.Allocate<float>(length);
        _gradients = backend.Allocate<float>(length);
        _slots = new DeviceBuffer<float>[settings.SlotCount];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = backend.Allocate<float>(length);
    }

    public int Length { get; }
    public long StepCount { get; private set; }

    /// <summary>Bytes of optimizer state (momentum or Adam moments) this instance holds.</summary>
    public long StateBytes => (long)_slots.Length * Length * sizeof(float);

    /// <summary>Updates <paramref name="parameters"/> in place from <paramref name="gradients"/> (both <see cref="Length"/> long).</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        StepCount++;
        if (Length == 0) return;
        _parameters.CopyFrom(parameters);
        _gradients.CopyFrom(gradients);
        float lr = _schedule?.Current ?? _settings.LearningRate;
        if (_settings.Kind == OptimizerKind.Adam)
            _backend.AdamStep(_parameters, _gradients, _slots[0], _slots[1], (int)StepCount,
                new AdamOptions(lr, weightDecay: _settings.WeightDecay));
        else
            _backend.SgdStep(_parameters, _gradients, _slots[0],
                new SgdOptions(lr, _settings.Momentum, _settings.WeightDecay));
        _parameters.CopyTo(parameters);
    }

    /// <summary>Copies state slot <paramref name="slot"/> into <paramref name="destination"/>.</summary>
    public void ReadSlot(int slot, Span<float> destination) { if (Length > 0) _slots[slot].CopyTo(destination); }

    /// <summary>Restores the state (from a checkpoint).</summary>
    public void Restore(IReadOnlyList<float[]> slots, int offset, long stepCount)
    {
        StepCount = stepCount;
        if (Length == 0) return;
        for (int i = 0; i < _slots.Length; i++) _slots[i].CopyFrom(slots[i].AsSpan(offset, Length));
    }

    public void Dispose()
    {
        _parameters.Dispose();
        _gradients.Dispose();
        foreach (var s in _slots) s.Dispose();
    }
}
