using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Synchronous data parallelism: every rank holds the whole model, computes the gradient of its slice of the global
/// batch, and the gradients are summed by AllReduce one bucket (one layer) at a time, the last layer's as soon as the
/// backward pass has produced it. Every rank then takes the same optimizer step, so parameters stay identical
/// (AllReduce results are bitwise identical on all ranks).
/// </summary>
internal sealed class DdpStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly ModelReplica _replica;
    private readonly Optimizer _optimizer;
    private readonly GradientBuckets _buckets;
    private readonly float[] _parameters;

    public DdpStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        _replica = new ModelReplica(context, settings.Ranks);
        _optimizer = new Optimizer(context.Backend, settings.Optimizer, context.Layout.Count, context.Schedule);
        _parameters = new float[context.Layout.Count];
        _buckets = new GradientBuckets(context, _replica.Model);
    }

    public void Load(Checkpoint state)
    {
        state.Parameters.CopyTo(_parameters, 0);
        _replica.Model.WriteParameters(_parameters);
        _optimizer.Restore(state.OptimizerSlots, 0, state.OptimizerSteps);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var world = _context.World;
        var tally = default(EpochTally);
        for (int step = 0; step < sampler.StepCount; step++)
        {
            _buckets.BeginStep();
            tally = _replica.ForwardBackward(sampler, step, world.Rank, world.Size, tally, _buckets.LayerReady);
            var gradients = _buckets.EndStep();
            _optimizer.Step(_parameters, gradients);
            _replica.Model.WriteParameters(_parameters);
            onStep(step);
        }
        return tally;
    }

    public Checkpoint Gather(int completedEpochs)
    {
        // Every rank holds the same full state already.
        var slots = new float[_context.Settings.Optimizer.SlotCount][];
        for (int s = 0; s < slots.Length; s++) { slots[s] = new float[_parameters.Length]; _optimizer.ReadSlot(s, slots[s]); }
        var settings = _context.Settings;
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, _optimizer.StepCount,
            (float[])_parameters.Clone(), slots);
    }

    public IReadOnlyList<string> Describe() =>
    [
        $"ddp: {_context.Layout.LayerCount} gradient buckets (one per layer), AllReduce {_context.Settings.Algorithm}; {_buckets.Mode}",
        $"optimizer state per rank: {_optimizer.StateBytes / 1024.0:F1} KiB (full replica)",
    ];

    public void Dispose()
    {
        _replica.Dispose();
        _optimizer.Dispose();
    }
}
