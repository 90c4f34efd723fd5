using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Optim;

/// <summary>
/// The optimizer of a rank that owns one contiguous shard of the parameters (a zero rank, a parameter server): the
/// shard and its optimizer state stay in the backend's buffers; each step the reduced gradients of the shard go up
/// and the updated shard comes back down, because the collectives that feed and read it work on host memory.
/// </summary>
internal sealed class ShardOptimizer : IDisposable
{
    private readonly DeviceBuffer<float> _parameters, _gradients;

    public ShardOptimizer(IKernelBackend backend, OptimizerSettings settings, int length, LearningRateSchedule? schedule)
    {
        // A zero-length shard (past the end of a small model) still gets valid, empty buffers.
        _parameters = backend.Allocate<float>(length);
        _gradients = backend.Allocate<float>(length);
        Optimizer = new Optimizer(backend, settings, [_parameters], [_gradients], schedule);
    }

    /// <summary>The optimizer over the shard: its state, step count and size.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Sets the shard's parameters (from a checkpoint).</summary>
    public void Load(ReadOnlySpan<float> parameters) => _parameters.CopyFrom(parameters);

    /// <summary>One step from the shard's <paramref name="gradients"/>; the updated shard is copied to <paramref name="parameters"/>.</summary>
    public void Step(ReadOnlySpan<float> gradients, Span<float> parameters)
    {
        if (Optimizer.Length > 0) _gradients.CopyFrom(gradients);
        Optimizer.Step();
        if (Optimizer.Length > 0) _parameters.CopyTo(parameters);
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        _parameters.Dispose();
        _gradients.Dispose();
    }
}
