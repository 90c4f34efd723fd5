using System.Globalization;
using System.Numerics.Tensors;
using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies.Gossip;

/// <summary>
/// Decentralized parallel SGD (D-PSGD, Lian et al. 2017, Algorithm 1). Each rank keeps its own replica x_i and trains
/// on its own shard of each global batch. One step, in the paper's order: compute the local stochastic gradient at
/// x_i; average with the neighbours x_i &lt;- sum_j W_ij x_j (every --gossip-every H steps); apply the gradient to the
/// averaged x_i with the local optimizer (its momentum or Adam state stays local). Only point-to-point messages train
/// the model; the per-epoch AllReduce of <see cref="Gather"/> is bookkeeping (the averaged model for evaluation and
/// the checkpoint, and the consensus distance 1/n sum ||x_i - mean||^2), and changes no replica.
/// <para>
/// The checkpoint holds the average of the replicas and of their optimizer state: --resume restarts every replica
/// at that average (as if one exact averaging had happened), so a resumed run is close to, but not bitwise, an
/// uninterrupted one.
/// </para>
/// <para>
/// Under --attack (<see cref="GossipAttack"/>) the malicious ranks poison their own steps; the averaged model, the
/// checkpoint and the consensus distance are then over the honest ranks only (what the honest peers ended with), and
/// the report gives the honest replicas' accuracies and the attackers' apart.
/// </para>
/// </summary>
internal sealed class GossipStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly GossipSettings _gossip;
    private readonly ModelReplica _replica;
    private readonly Optimizer _optimizer;
    private readonly IGossipMixer _mixer;
    private readonly float[] _parameters;
    private readonly int _localBatch;
    private readonly GossipAttack? _attack;
    private readonly bool _malicious;
    private readonly int _honestRanks;
    private long _steps, _rounds;

    public GossipStrategy(StrategyContext context)
    {
        _context = context;
        _gossip = context.Settings.Gossip ?? throw new ArgumentException("gossip strategy without gossip settings", nameof(context));
        var world = context.World;
        _replica = new ModelReplica(context, world.Size);
        var model = _replica.Model;
        _optimizer = new Optimizer(context.Backend, context.Settings.Optimizer, model.ParameterTensors, model.GradientTensors, context.Schedule);
        int count = context.Layout.Count;
        _parameters = new float[count];
        _localBatch = EpochSampler.ShardRange(context.Settings.BatchSize, world.Rank, world.Size).Length;
        _attack = _gossip.Attack is { } spec ? new GossipAttack(spec, world.Size, context.Settings.Seed, count) : null;
        _malicious = _attack?.IsMalicious(world.Rank) ?? false;
        _honestRanks = world.Size - (_attack?.Malicious.Length ?? 0);
        _mixer = _gossip.Async
            ? new AsyncGossipMixer(world, _gossip.Topology, count, _gossip.Staleness)
            : new GossipMixer(world, _gossip.Topology, count);
    }

    /// <summary>1/n sum_i ||x_i - mean||^2 at the end of the last epoch.</summary>
    public double? ConsensusDistance { get; private set; }

    public IReadOnlyList<string> Preamble() => _attack is null ? _gossip.Topology.Describe() : [.. _gossip.Topology.Describe(), _attack.Describe()];

    public void Load(Checkpoint state)
    {
        _replica.Model.WriteParameters(state.Parameters);
        _optimizer.Restore(state.OptimizerSlots, 0, state.OptimizerSteps);
        _steps = state.OptimizerSteps;
        _rounds = _steps / _gossip.Every;
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var tally = default(EpochTally);
        var world = _context.World;
        for (int step = 0; step < sampler.StepCount; step++)
        {
            // The gradient is the mean over this rank's own samples: each replica takes a full SGD step on its shard.
            tally = _replica.ForwardBackward(sampler, step, world.Rank, world.Size, tally, lossDivisor: _localBatch);
            _steps++;
            if (_steps % _gossip.Every == 0)
            {
                _replica.Model.ReadParameters(_parameters);
                long round = _rounds++;
                _context.Clock.Time(() => _mixer.Mix(_parameters, round));
                _replica.Model.WriteParameters(_parameters);
            }
            if (_malicious) _attack!.PoisonStep(_optimizer.Step, _replica.Model, world.Rank, _steps);
            else _optimizer.Step();
            onStep(step);
        }
        _replica.Model.ReadParameters(_parameters);
        _context.Clock.Time(() => _mixer.EndEpoch(_parameters, _rounds - 1));
        return tally;
    }

    public Checkpoint Gather(int completedEpochs)
    {
        var world = _context.World;
        int count = _context.Layout.Count;
        // Over the honest ranks: an attacker's replica is not a model anyone should keep.
        float scale = 1f / _honestRanks;
        _replica.Model.ReadParameters(_parameters);
        var mean = Average(_parameters, scale);
        var difference = new float[count];
        if (!_malicious) TensorPrimitives.Subtract(_parameters, mean, difference);
        Span<double> distance = [TensorPrimitives.Dot(difference, difference)];
        world.AllReduce(distance, ReduceOp.Sum);
        ConsensusDistance = distance[0] / _honestRanks;
        var slots = new float[_context.Settings.Optimizer.SlotCount][];
        var slot = new float[count];
        for (int s = 0; s < slots.Length; s++) { _optimizer.ReadSlot(s, slot); slots[s] = Average(slot, scale); }
        var settings = _context.Settings;
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, _optimizer.StepCount, mean, slots);
    }

    public IReadOnlyList<string> Describe()
    {
        var world = _context.World;
        // Each replica on the whole test set, on a communicator of this rank alone; then the n accuracies side by side.
        using var alone = world.Split(world.Rank, 0) ?? throw new InvalidOperationException("Split returned no communicator for a non-negative color.");
        using var evaluator = new Evaluator(alone, _context.Backend, _context.Settings.Layers, _context.Data.Test);
        _replica.Model.ReadParameters(_parameters);
        var accuracies = new double[world.Size];
        accuracies[world.Rank] = evaluator.Accuracy(_parameters);
        world.AllReduce<double>(accuracies, ReduceOp.Sum);
        var honest = Enumerable.Range(0, world.Size).Where(r => _attack?.IsMalicious(r) != true).Select(r => accuracies[r]).ToArray();
        var lines = new List<string>
        {
            _attack is null
                ? "gossip: the reported test accuracy is that of the averaged model (mean of the replicas)"
                : $"gossip: the reported test accuracy is that of the honest ranks' averaged model (mean of their {_honestRanks} replicas)",
            string.Create(CultureInfo.InvariantCulture,
                $"gossip: per-rank {(_attack is null ? "" : "honest ")}replica test accuracy min {100 * honest.Min():F2}% mean {100 * honest.Average():F2}% max {100 * honest.Max():F2}% (spread {100 * (honest.Max() - honest.Min()):F2} points); final consensus distance {ConsensusDistance ?? 0:E3}"),
        };
        if (_attack is not null)
            lines.Add(string.Join(", ", _attack.Malicious.Select(r => string.Create(CultureInfo.InvariantCulture, $"rank {r} {100 * accuracies[r]:F2}%"))).Insert(0, "gossip: the attackers' own replicas: "));
        lines.AddRange(_mixer.Describe());
        return lines;
    }

    /// <summary>Collective: the mean over the honest ranks (all ranks without an attack) of <paramref name="local"/>.</summary>
    private float[] Average(ReadOnlySpan<float> local, float scale)
    {
        var sum = _malicious ? new float[local.Length] : local.ToArray();
        _context.World.AllReduce<float>(sum, ReduceOp.Sum, _context.Collective);
        TensorPrimitives.Multiply(sum, scale, sum);
        return sum;
    }

    public void Dispose()
    {
        _mixer.Dispose();
        _replica.Dispose();
        _optimizer.Dispose();
    }
}
