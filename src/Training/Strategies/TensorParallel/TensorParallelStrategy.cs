using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies.TensorParallel;

/// <summary>
/// Tensor (intra-layer) model parallelism, as Megatron-LM splits a transformer's MLP (Shoeybi et al. 2019): every rank
/// runs every step on the whole global batch, but holds and computes only its share of each layer
/// (<see cref="TensorParallelPlan"/>), and updates only the parameters it holds. Data parallelism gives each rank half
/// the batch and then sums a full copy of every gradient; here nothing but one activation matrix per layer pair
/// crosses between the ranks, the optimizer's work is split too, and every product keeps the full batch's rows. That
/// is what lets 2 ranks on 2 cores beat 1 rank by more than data parallelism can (benchmarks/RESULTS-training.md,
/// "tensor parallelism"). Its ranks must be tightly coupled (a sum in every step's forward pass): in-process threads
/// or MPI ranks on one node.
/// </summary>
internal sealed class TensorParallelStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly TensorParallelPlan _plan;
    private readonly TensorParallelModel _model;
    private readonly LossHead _head;
    private readonly BatchInput _input;
    private readonly Optimizer _optimizer;

    public TensorParallelStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        var world = context.World;
        _plan = new TensorParallelPlan(settings.Layers, world.Rank, world.Size);
        _model = new TensorParallelModel(context.Backend, world, context.Collective, context.Phases, context.Clock, _plan, settings.Layers, settings.BatchSize);
        _head = new LossHead(context.Backend, settings.Layers[^1], settings.BatchSize);
        _input = new BatchInput(context.Backend, context.Data.Train, settings.BatchSize);
        _optimizer = new Optimizer(context.Backend, settings.Optimizer, _model.ParameterTensors, _model.GradientTensors, context.Schedule);
    }

    public void Load(Checkpoint state)
    {
        var local = new float[_plan.LocalCount];
        _plan.Scatter(state.Parameters, local);
        _model.WriteParameters(local);
        var slots = state.OptimizerSlots.Select(full =>
        {
            var slot = new float[_plan.LocalCount];
            _plan.Scatter(full, slot);
            return slot;
        }).ToArray();
        _optimizer.Restore(slots, 0, state.OptimizerSteps);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var world = _context.World;
        var phases = _context.Phases;
        var tally = default(EpochTally);
        for (int step = 0; step < sampler.StepCount; step++)
        {
            ReadOnlySpan<int> labels;
            using (phases.Measure(TrainingPhase.DataLoading)) labels = _input.LoadTogether(sampler.Batch(step), world, _context.Collective);
            int n = labels.Length;
            float loss;
            int right;
            using (Timeline.Span(world, "forward", "train"))
            {
                long start = Stopwatch.GetTimestamp(), waitAtStart = phases.Ticks(TrainingPhase.AllReduceWait);
                var logits = _model.Forward(_input.Device, n);
                (loss, right) = _head.Compute(logits, labels, sampler.GlobalBatch);
                phases.AddExcluding(TrainingPhase.Forward, start, TrainingPhase.AllReduceWait, waitAtStart);
            }
            using (Timeline.Span(world, "backward", "train"))
            {
                long start = Stopwatch.GetTimestamp(), waitAtStart = phases.Ticks(TrainingPhase.AllReduceWait);
                _model.Backward(_input.Device, _head.Gradient, n);
                phases.AddExcluding(TrainingPhase.Backward, start, TrainingPhase.AllReduceWait, waitAtStart);
            }
            using (Timeline.Span(world, "optimizer step", "train"))
            using (phases.Measure(TrainingPhase.Optimizer)) _optimizer.Step();
            // Every rank computed the same loss over the same batch: rank 0 alone reports it.
            if (world.Rank == 0) tally = new EpochTally(tally.LossSum + (double)loss * n, tally.Correct + right, tally.Samples + n);
            onStep(step);
        }
        return tally;
    }

    public Checkpoint Gather(int completedEpochs)
    {
        var settings = _context.Settings;
        var world = _context.World;
        var local = new float[_plan.LocalCount];
        _model.ReadParameters(local);
        var parameters = Assemble(local);
        var slots = new float[settings.Optimizer.SlotCount][];
        for (int s = 0; s < slots.Length; s++)
        {
            _optimizer.ReadSlot(s, local);
            slots[s] = Assemble(local);
        }
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, _optimizer.StepCount, parameters, slots);
    }

    /// <summary>The full vector from every rank's local one: each writes what it owns into zeros, and the sum over the
    /// ranks is exact (x + 0 = x), as <see cref="StateGather"/> does for contiguous ranges.</summary>
    private float[] Assemble(ReadOnlySpan<float> local)
    {
        var full = new float[_plan.FullCount];
        _plan.Place(local, full);
        _context.World.AllReduce<float>(full, ReduceOp.Sum);
        return full;
    }

    public IReadOnlyList<string> Describe()
    {
        var lines = new List<string>
        {
            $"tensor: {_plan.Ranks} ranks share every layer (Megatron-style column/row pairs); each step is the whole batch of {_context.Settings.BatchSize} on every rank",
        };
        lines.AddRange(_plan.DescribeLayers(_context.Settings.Layers));
        long full = (long)_context.Settings.Optimizer.SlotCount * _plan.FullCount * sizeof(float);
        lines.Add($"parameters on rank 0: {_plan.LocalCount} of {_plan.FullCount} ({100.0 * _plan.LocalCount / _plan.FullCount:F1}%); optimizer state {_optimizer.StateBytes / 1024.0:F1} KiB (ddp: {full / 1024.0:F1} KiB)");
        return lines;
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
        _head.Dispose();
        _input.Dispose();
    }
}
