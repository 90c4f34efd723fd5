using System.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// ddp with --reproducible --reproducible-sum exact: the model after each step is bitwise the same on 1, 2, 4 or 8 ranks, in-process or under
/// mpiexec, with any AllReduce algorithm. Summing each rank's shard gradient in float and only the cross-rank sum
/// exactly would not do: the shard's gradient is a matmul over its examples, and its float sum depends on how the
/// batch is cut. So the cut is fixed: every global batch is P micro-batches (--reproducible-parts, the same slices
/// whatever the rank count), each rank computes the float gradients of its P / ranks of them, one micro-batch at a
/// time (the kernels give the same bits whatever their thread count), and all P gradients are summed with the
/// reproducible sum (<see cref="Collectives.Communicator.ReproducibleSum{T}"/>), whose bits do not depend on which
/// rank holds which addend. Every rank then takes the same optimizer step.
/// <para>
/// Cost against ddp: smaller matmuls (B / P rows instead of B / ranks), the gradient read back after every
/// micro-batch, the fixed-point conversion (about three passes over P / ranks gradients), an AllReduce of 64-bit
/// integers (twice ddp's bytes), and no overlap with the backward pass (the sum needs the last micro-batch). The
/// default, <see cref="ReproducibleDdpStrategy"/> (a fixed tree order), is faster; this one serves what the tree
/// cannot: rank counts or part counts that are not powers of two, and any --algorithm (MPI_Allreduce included).
/// </para>
/// </summary>
internal sealed class ExactSumDdpStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly ModelReplica _replica;
    private readonly Optimizer _optimizer;
    private readonly int _parts;
    private readonly int _localParts;
    private readonly float[] _partGradients;
    private readonly float[] _sum;

    public ExactSumDdpStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        _parts = settings.ReproducibleParts;
        _localParts = _parts / context.World.Size;
        _replica = new ModelReplica(context, _parts);
        var model = _replica.Model;
        _optimizer = new Optimizer(context.Backend, settings.Optimizer, model.ParameterTensors, model.GradientTensors, context.Schedule);
        _partGradients = new float[_localParts * context.Layout.Count];
        _sum = new float[context.Layout.Count];
    }

    public void Load(Checkpoint state)
    {
        _replica.Model.WriteParameters(state.Parameters);
        _optimizer.Restore(state.OptimizerSlots, 0, state.OptimizerSteps);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var world = _context.World;
        int count = _context.Layout.Count;
        var model = _replica.Model;
        var tally = default(EpochTally);
        for (int step = 0; step < sampler.StepCount; step++)
        {
            for (int p = 0; p < _localParts; p++)
            {
                // Micro-batch j of P: the same slice of the global batch whichever rank computes it.
                int part = world.Rank * _localParts + p;
                tally = _replica.ForwardBackward(sampler, step, part, _parts, tally);
                model.ReadGradients(_partGradients.AsSpan(p * count, count));
            }
            long start = Stopwatch.GetTimestamp();
            world.ReproducibleSum<float>(_partGradients, _localParts, _sum, _context.Collective);
            _context.Clock.Add(start);
            var layout = _context.Layout;
            for (int l = 0; l < layout.LayerCount; l++)
                model.WriteLayerGradients(l, _sum.AsSpan(layout.LayerOffset(l), layout.LayerLength(l)));
            _optimizer.Step();
            onStep(step);
        }
        return tally;
    }

    // Every rank holds the same full state already.
    public Checkpoint Gather(int completedEpochs) => ReplicaCheckpoint.Gather(_context, _replica, _optimizer, completedEpochs);

    public IReadOnlyList<string> Describe() =>
    [
        $"ddp --reproducible --reproducible-sum exact: each global batch is {_parts} fixed micro-batches ({_localParts} per rank), their gradients summed by the reproducible sum " +
        $"(binned 64-bit fixed point, AllReduce {_context.Settings.Algorithm}): the model is bitwise the same for any rank count that divides {_parts}",
        $"optimizer state per rank: {_optimizer.StateBytes / 1024.0:F1} KiB (full replica)",
    ];

    public void Dispose()
    {
        _replica.Dispose();
        _optimizer.Dispose();
    }
}
