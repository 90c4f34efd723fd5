using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Pipeline model parallelism with the GPipe schedule: one <see cref="GpipeStage"/> per rank (--split layers per
/// stage) over the whole global batch, cut into --micro-batches; after each step every stage steps its own layers
/// from the gradients summed over the micro-batches, so the result equals single-rank training on the global batch.
/// The bubble (idle share) of GPipe is (S - 1) / (M + S - 1); the measured share of time spent waiting is reported.
/// </summary>
internal sealed class PipelineStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly GpipeStage _stage;
    private readonly Optimizer _optimizer;
    private double _stepSeconds;

    public PipelineStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        _stage = new GpipeStage(context, context.World, settings.Split, settings.BatchSize);
        _optimizer = new Optimizer(context.Backend, settings.Optimizer, _stage.Model.ParameterTensors, _stage.GradientSums, context.Schedule);
    }

    public void Load(Checkpoint state)
    {
        _stage.Model.WriteParameters(state.Parameters.AsSpan(_stage.Offset, _stage.Model.Layout.Count));
        _optimizer.Restore(state.OptimizerSlots, _stage.Offset, state.OptimizerSteps);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var tally = default(EpochTally);
        long epochStart = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int step = 0; step < sampler.StepCount; step++)
        {
            var batch = sampler.Batch(step);
            tally = _stage.Step(batch, batch.Length, tally);
            _optimizer.Step();
            onStep(step);
        }
        _stepSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(epochStart).TotalSeconds;
        return tally;
    }

    public Checkpoint Gather(int completedEpochs)
    {
        var settings = _context.Settings;
        int count = _context.Layout.Count;
        var stage = new float[_stage.Model.Layout.Count];
        _stage.Model.ReadParameters(stage);
        var parameters = StateGather.Assemble(_context.World, count, _stage.Offset, stage);
        var slots = StateGather.AssembleSlots(_context.World, _optimizer, settings.Optimizer.SlotCount, count, _stage.Offset);
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, _optimizer.StepCount, parameters, slots);
    }

    public IReadOnlyList<string> Describe()
    {
        Span<double> sums = [_stage.WaitSeconds, _stepSeconds];
        _context.World.AllReduce(sums, ReduceOp.Sum);
        int micro = _stage.MicroBatches;
        double ideal = (double)(_stage.Stages - 1) / (micro + _stage.Stages - 1);
        return
        [
            $"pipeline: {_stage.Stages} stages (layers per stage {string.Join(",", _context.Settings.Split)}), {micro} micro-batches per batch of {_context.Settings.BatchSize}",
            $"bubble: GPipe schedule {100 * ideal:F1}% idle; measured share of stage time spent waiting on neighbours {100 * sums[0] / Math.Max(sums[1], 1e-9):F1}%",
        ];
    }

    public void Dispose()
    {
        _stage.Dispose();
        _optimizer.Dispose();
    }
}
