using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// The gradient buckets of ddp: one per layer, each a contiguous range of the flat gradient vector, summed across
/// ranks by AllReduce. With overlap (the default) a bucket's AllReduce is started (non-blocking, on the
/// communicator's progress thread) as soon as the backward pass has produced that layer's gradient, so it runs
/// while earlier layers are still being computed; <see cref="EndStep"/> waits for all of them. Buckets start in the
/// same order (last layer first) on every rank, as collectives on one communicator must. Gradients arrive
/// pre-scaled by local rows / global batch (<see cref="LossHead"/>), so the sum is the global-batch gradient.
/// </summary>
internal sealed class GradientBuckets
{
    private readonly StrategyContext _context;
    private readonly Mlp _model;
    private readonly float[] _gradients;
    private readonly bool _overlap;
    private readonly List<CollectiveHandle> _pending = [];

    public GradientBuckets(StrategyContext context, Mlp model)
    {
        _context = context;
        _model = model;
        _gradients = new float[context.Layout.Count];
        _overlap = context.Settings.Overlap;
    }

    public string Mode => _overlap
        ? "non-blocking AllReduce started per bucket as soon as its layer's gradient is ready (overlaps the backward pass)"
        : "blocking AllReduce per bucket as each layer's gradient is ready (--no-overlap)";

    public void BeginStep() => _pending.Clear();

    /// <summary>Called by the backward pass when layer <paramref name="layer"/>'s gradient is ready.</summary>
    public void LayerReady(int layer)
    {
        var layout = _context.Layout;
        int offset = layout.LayerOffset(layer), length = layout.LayerLength(layer);
        _model.ReadLayerGradients(layer, _gradients.AsSpan(offset, length));
        var world = _context.World;
        if (world.Size == 1) return;
        if (_overlap)
        {
            _pending.Add(world.StartAllReduce(_gradients.AsMemory(offset, length), ReduceOp.Sum, _context.Collective));
            return;
        }
        long start = Stopwatch.GetTimestamp();
        world.AllReduce(_gradients.AsSpan(offset, length), ReduceOp.Sum, _context.Collective);
        _context.Clock.Add(start);
    }

    /// <summary>Waits for all buckets (the time blocked here is the communication the backward pass did not hide); returns the summed gradients.</summary>
    public ReadOnlySpan<float> EndStep()
    {
        long start = Stopwatch.GetTimestamp();
        foreach (var handle in _pending) handle.Wait();
        _pending.Clear();
        _context.Clock.Add(start);
        return _gradients;
    }
}
