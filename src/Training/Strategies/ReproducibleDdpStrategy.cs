using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// ddp with --reproducible (--reproducible-sum tree, the default): the model after each step is bitwise the same on 1,
/// 2, 4 ... P ranks, in-process or under mpiexec, at nearly ddp's cost. Every global batch is P micro-batches (the
/// same slices whatever the rank count; P and the rank count powers of two), and each layer's weight and bias
/// gradients are their sum in one fixed order: within a micro-batch, rows in order; across micro-batches, a balanced
/// binary tree, ((g0 + g1) + (g2 + g3)) + ....
/// <para>
/// Rank r holds micro-batches [r L, (r + 1) L), L = P / ranks, and runs forward and backward once over all of them,
/// as ddp does over its shard: every row of the forward pass and of dX is the same whatever rows share the matmul
/// (the CPU kernels fix each element's summation order), and the loss gradient is (p - onehot) / B rounded once
/// (<see cref="Model.LossHead.ComputeScaledOnce"/>). Only the parameter gradients sum over rows; the kernel
/// (<see cref="AllReduceNet.Kernels.TreeOrderedGradientOps"/>) adds the rank's L micro-batches as the subtree they
/// form, and recursive doubling across the ranks (round k: partners that differ in bit k, the lower one's value
/// first) adds exactly the tree's upper levels; so does recursive halving, which pairs the ranks alike but sends
/// 2(N-1)/N of a bucket instead of log2 N buckets (<see cref="TreeOrderCollective"/>). So the sums are plain floats, one AllReduce per layer started as
/// soon as the backward pass has produced it (overlapped like ddp's buckets), and no fixed-point conversion.
/// </para>
/// </summary>
internal sealed class ReproducibleDdpStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly ModelReplica _replica;
    private readonly Optimizer _optimizer;
    private readonly GradientBuckets _buckets;
    private readonly int _parts;
    private readonly int _localParts;
    private readonly int[] _partEnds;

    /// <summary>Buckets up to this size go through recursive doubling under --algorithm auto: its log2 N exchanges
    /// are fewer steps than recursive halving's 2 log2 N while the bytes hardly matter (Auto's own crossover for
    /// recursive doubling, 16 KiB, measured in benchmarks/RESULTS.md).</summary>
    private const long WholeBufferExchangeBytes = 16 * 1024;

    /// <summary>
    /// The AllReduce of a bucket of <paramref name="bytes"/>: an algorithm whose order is the tree's upper levels.
    /// Recursive doubling and recursive halving pair the ranks alike and give the same bits; nothing else adds in that
    /// order. --algorithm rd or rh forces one; auto takes recursive doubling for small buckets and recursive halving
    /// (2(N-1)/N of the bucket sent per rank instead of log2 N buckets) above.
    /// </summary>
    internal static CollectiveOptions TreeOrderCollective(StrategyContext context, long bytes) => context.Collective with
    {
        Algorithm = context.Collective.Algorithm is AllReduceAlgorithm.RecursiveDoubling or AllReduceAlgorithm.RecursiveHalving
            ? context.Collective.Algorithm
            : bytes <= WholeBufferExchangeBytes ? AllReduceAlgorithm.RecursiveDoubling : AllReduceAlgorithm.RecursiveHalving,
    };

    public ReproducibleDdpStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        int ranks = context.World.Size;
        _parts = settings.ReproducibleParts;
        if (!System.Numerics.BitOperations.IsPow2(_parts) || _parts % ranks != 0)
            throw new TrainingException($"--reproducible-sum tree needs --reproducible-parts a power of two and a multiple of the {ranks} ranks, but it was {_parts}; use --reproducible-sum exact.");
        _localParts = _parts / ranks;
        _partEnds = new int[_localParts];
        _replica = new ModelReplica(context, ranks);
        var model = _replica.Model;
        _optimizer = new Optimizer(context.Backend, settings.Optimizer, model.ParameterTensors, model.GradientTensors, context.Schedule);
        var bucketCollectives = Enumerable.Range(0, context.Layout.LayerCount)
            .Select(l => TreeOrderCollective(context, context.Layout.LayerLength(l) * sizeof(float))).ToArray();
        _buckets = new GradientBuckets(context, model, l => bucketCollectives[l]);
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
        for (int step = 0; step < sampler.StepCount; step++)
        {
            SetPartEnds(sampler.Batch(step).Length, world.Rank);
            _buckets.BeginStep();
            tally = _replica.ForwardBackwardTreeOrdered(sampler, step, world.Rank, world.Size, _partEnds, tally, _buckets.LayerReady);
            _buckets.EndStep();
            using (Timeline.Span(world, "optimizer step", "train"))
            using (_context.Phases.Measure(TrainingPhase.Optimizer)) _optimizer.Step();
            onStep(step);
        }
        return tally;
    }

    /// <summary>Where this rank's micro-batches end, counted from the first row of its shard (the same cut as
    /// <see cref="EpochSampler.ShardRange"/> into P parts, which the rank's shard is a run of).</summary>
    private void SetPartEnds(int batch, int rank)
    {
        int first = rank * _localParts;
        int shardStart = EpochSampler.ShardRange(batch, first, _parts).Start;
        for (int p = 0; p < _localParts; p++)
        {
            var (start, length) = EpochSampler.ShardRange(batch, first + p, _parts);
            _partEnds[p] = start + length - shardStart;
        }
    }

    // Every rank holds the same full state already.
    public Checkpoint Gather(int completedEpochs) => ReplicaCheckpoint.Gather(_context, _replica, _optimizer, completedEpochs);

    public IReadOnlyList<string> Describe() =>
    [
        $"ddp --reproducible (tree): each global batch is {_parts} fixed micro-batches ({_localParts} per rank), their gradients added in a fixed binary-tree order " +
        $"(within the rank by the kernel, across ranks by {TreeOrderAlgorithms()}; {_buckets.Mode}): the model is bitwise the same for any power-of-two rank count that divides {_parts}",
        $"optimizer state per rank: {_optimizer.StateBytes / 1024.0:F1} KiB (full replica)",
    ];

    private string TreeOrderAlgorithms() => _context.World.Size == 1 ? "nothing (one rank)" : string.Join(", ", Enumerable.Range(0, _context.Layout.LayerCount)
        .Select(l => $"layer {l}: {(TreeOrderCollective(_context, _context.Layout.LayerLength(l) * sizeof(float)).Algorithm == AllReduceAlgorithm.RecursiveDoubling ? "recursive doubling" : "recursive halving")}"));

    public void Dispose()
    {
        _buckets.Dispose();
        _replica.Dispose();
        _optimizer.Dispose();
    }
}
