using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Synchronous data parallelism: every rank holds the whole model, computes the gradient of its slice of the global
/// batch, and the gradients are summed by AllReduce one bucket (one layer) at a time, the last layer's as soon as the
/// backward pass has produced it. Every rank then takes the same optimizer step, so parameters stay identical
/// (AllReduce results are bitwise identical on all ranks). Parameters and optimizer state stay in the kernel
/// backend's buffers for the whole run; only the gradient buckets visit the host (<see cref="GradientBuckets"/>), and on
/// the CPU backend not even they: they are summed in the backend's own arrays (<see cref="InPlaceBuckets"/>).
/// </summary>
internal sealed class DdpStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly ModelReplica _replica;
    private readonly Optimizer _optimizer;
    private readonly GradientBuckets _buckets;
    private double? _bytesPerStep;

    public DdpStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        _replica = new ModelReplica(context, settings.Ranks);
        var model = _replica.Model;
        _optimizer = new Optimizer(context.Backend, settings.Optimizer, model.ParameterTensors, model.GradientTensors, context.Schedule);
        _buckets = new GradientBuckets(context, _replica.Model);
    }

    public void Load(Checkpoint state)
    {
        _replica.Model.WriteParameters(state.Parameters);
        _optimizer.Restore(state.OptimizerSlots, 0, state.OptimizerSteps);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var world = _context.World;
        var tally = default(EpochTally);
        long bytesBefore = _buckets.BytesSent;
        for (int step = 0; step < sampler.StepCount; step++)
        {
            _buckets.BeginStep();
            tally = _replica.ForwardBackward(sampler, step, world.Rank, world.Size, tally, _buckets.LayerReady);
            _buckets.EndStep();
            using (Timeline.Span(world, "optimizer step", "train"))
            using (_context.Phases.Measure(TrainingPhase.Optimizer)) _optimizer.Step();
            onStep(step);
        }
        _bytesPerStep = (double)(_buckets.BytesSent - bytesBefore) / Math.Max(1, sampler.StepCount);
        return tally;
    }

    public double? BytesPerStep => _bytesPerStep;

    // Every rank holds the same full state already.
    public Checkpoint Gather(int completedEpochs) => ReplicaCheckpoint.Gather(_context, _replica, _optimizer, completedEpochs);

    public IReadOnlyList<string> Describe()
    {
        var lines = new List<string>
        {
            $"ddp: {_context.Layout.LayerCount} gradient buckets (one per layer), AllReduce {_context.Settings.Algorithm}; {_buckets.Mode}",
            $"optimizer state per rank: {_optimizer.StateBytes / 1024.0:F1} KiB (full replica)",
        };
        if (_buckets.SecureMode is { } secure) lines.Add(secure);
        if (_bytesPerStep is double bytes && _context.World.Size > 1)
        {
            double uncompressed = Compression.WireBytes.AllReduce(_context.Layout.Count, sizeof(float), _context.World.Size);
            lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"gradient bytes sent per rank and step: {bytes / 1024:F1} KiB ({uncompressed / Math.Max(bytes, 1):F1}x fewer than the fp32 ring's {uncompressed / 1024:F1} KiB)"));
        }
        return lines;
    }

    public void Dispose()
    {
        _buckets.Dispose();
        _replica.Dispose();
        _optimizer.Dispose();
    }
}
