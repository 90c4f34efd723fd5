using AllReduceNet.Collectives;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// The gradient buckets of ddp: one per layer, each a contiguous range of the flat gradient vector, summed across
/// ranks by AllReduce as soon as the backward pass has produced that layer's gradient. Gradients arrive pre-scaled
/// by local rows / global batch (<see cref="LossHead"/>), so the sum is the global-batch gradient.
/// </summary>
internal sealed class GradientBuckets
{
    private readonly StrategyContext _context;
    private readonly Mlp _model;
    private readonly float[] _gradients;

    public GradientBuckets(StrategyContext context, Mlp model)
    {
        _context = context;
        _model = model;
        _gradients = new float[context.Layout.Count];
    }

    public string Mode => "blocking AllReduce per bucket as each layer's gradient is ready";

    public void BeginStep() { }

    /// <summary>Called by the backward pass when layer <paramref name="layer"/>'s gradient is ready.</summary>
    public void LayerReady(int layer)
    {
        var layout = _context.Layout;
        var bucket = _gradients.AsSpan(layout.LayerOffset(layer), layout.LayerLength(layer));
        _model.ReadLayerGradients(layer, bucket);
        if (_context.World.Size == 1) return;
        var world = _context.World;
        var options = _context.Collective;
        int offset = layout.LayerOffset(layer), length = layout.LayerLength(layer);
        _context.Clock.Time(() => world.AllReduce(_gradients.AsSpan(offset, length), ReduceOp.Sum, options));
    }

    /// <summary>Waits for all buckets; returns the summed gradient vector.</summary>
    public ReadOnlySpan<float> EndStep() => _gradients;
}
