using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// ZeRO-style sharding of the optimizer (stage 2: optimizer state and reduced gradients sharded). The flat vector is
/// padded to N x k and rank r owns shard [r k, (r + 1) k). Each step: gradients are reduce-scattered (rank r receives
/// the sum of shard r only), rank r updates its shard of the parameters with its shard of the optimizer state, and
/// the shards are all-gathered into the full parameter vector on every rank. Optimizer state per rank is 1/N of ddp's.
/// The owned shard and its state stay in the kernel backend's buffers (<see cref="ShardOptimizer"/>); what crosses to
/// the host is what the two collectives carry.
/// </summary>
internal sealed class ZeroStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly ModelReplica _replica;
    private readonly ShardOptimizer _optimizer;
    private readonly float[] _parameters, _gradients, _shardGradients;
    private readonly int _shard, _start, _owned;

    public ZeroStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        int n = context.World.Size, count = context.Layout.Count;
        _shard = (count + n - 1) / n;
        _start = context.World.Rank * _shard;
        // The last shards may reach into the padding (or lie wholly in it); only real parameters get optimizer state.
        _owned = Math.Clamp(count - _start, 0, _shard);
        _replica = new ModelReplica(context, n);
        _optimizer = new ShardOptimizer(context.Backend, settings.Optimizer, _owned, context.Schedule);
        _parameters = new float[_shard * n];
        _gradients = new float[_shard * n];
        _shardGradients = new float[_shard];
    }

    public void Load(Checkpoint state)
    {
        state.Parameters.CopyTo(_parameters, 0);
        _replica.Model.WriteParameters(_parameters.AsSpan(0, _context.Layout.Count));
        _optimizer.Load(_parameters.AsSpan(_start, _owned));
        _optimizer.Optimizer.Restore(state.OptimizerSlots, Math.Min(_start, _context.Layout.Count), state.OptimizerSteps);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var world = _context.World;
        var options = _context.Collective;
        int count = _context.Layout.Count;
        var tally = default(EpochTally);
        for (int step = 0; step < sampler.StepCount; step++)
        {
            tally = _replica.ForwardBackward(sampler, step, world.Rank, world.Size, tally);
            _replica.Model.ReadGradients(_gradients.AsSpan(0, count));
            // Both collectives block: their whole time is the step's communication wait.
            using (_context.Phases.Measure(TrainingPhase.AllReduceWait))
                _context.Clock.Time(() => world.ReduceScatter<float>(_gradients, _shardGradients, ReduceOp.Sum, options));
            using (_context.Phases.Measure(TrainingPhase.Optimizer))
                _optimizer.Step(_shardGradients.AsSpan(0, _owned), _parameters.AsSpan(_start, _owned));
            using (_context.Phases.Measure(TrainingPhase.AllReduceWait))
                _context.Clock.Time(() => world.AllGather(_parameters.AsSpan(), options));
            _replica.Model.WriteParameters(_parameters.AsSpan(0, count));
            onStep(step);
        }
        return tally;
    }

    public Checkpoint Gather(int completedEpochs)
    {
        var settings = _context.Settings;
        int count = _context.Layout.Count;
        var slots = new float[settings.Optimizer.SlotCount][];
        var padded = new float[_parameters.Length];
        for (int s = 0; s < slots.Length; s++)
        {
            Array.Clear(padded);
            _optimizer.Optimizer.ReadSlot(s, padded.AsSpan(_start, _owned));
            _context.World.AllGather(padded.AsSpan(), _context.Collective);
            slots[s] = padded[..count];
        }
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, _optimizer.Optimizer.StepCount,
            _parameters[..count], slots);
    }

    public IReadOnlyList<string> Describe()
    {
        long full = (long)_context.Settings.Optimizer.SlotCount * _context.Layout.Count * sizeof(float);
        return
        [
            $"zero: {_context.World.Size} shards of {_shard} parameters; reduce-scatter gradients, all-gather parameters",
            $"optimizer state per rank: {_optimizer.Optimizer.StateBytes / 1024.0:F1} KiB (ddp: {full / 1024.0:F1} KiB, {100.0 * _optimizer.Optimizer.StateBytes / Math.Max(full, 1):F1}%)",
        ];
    }

    public void Dispose()
    {
        _replica.Dispose();
        _optimizer.Dispose();
    }
}
