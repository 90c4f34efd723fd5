using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Hybrid data x pipeline parallelism. The ranks form a grid of S stages x R replicas: rank = replica * S + stage,
/// so one replica's stages are neighbouring ranks. Two communicators come from Split: one per replica (its S stages,
/// the GPipe pipeline, <see cref="GpipeStage"/>) and one per stage (that stage's R copies, which average its
/// gradients). Each step replica r runs GPipe over its share r of R of the global batch; as soon as the last
/// backward micro-batch completes a layer's gradient sum, that layer's AllReduce among the stage's replicas starts
/// (non-blocking, on the stage communicator's progress thread), overlapping the stage's remaining layers and the
/// other stages' backward passes. Then every copy of a stage takes the same optimizer step.
/// <para>
/// Gradients are pre-scaled by rows / global batch (the loss is divided by the global batch), so the replicas' sum is
/// the average of their means weighted by their rows: exactly the global batch's gradient, even for uneven shares.
/// Same global batch and learning rate as ddp, so the result equals single-rank training up to float rounding.
/// </para>
/// </summary>
internal sealed class HybridStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly Communicator _pipeline, _stageReplicas;
    private readonly int _replica, _replicas;
    private readonly GpipeStage _stage;
    private readonly Optimizer _optimizer;
    private readonly float[] _buckets;
    private readonly int[] _bucketOffsets;
    private readonly List<CollectiveHandle> _pending = [];
    private double _stepSeconds, _allReduceWaitSeconds;

    public HybridStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        var world = context.World;
        int stages = settings.Stages;
        _replicas = world.Size / stages;
        _replica = world.Rank / stages;
        int stage = world.Rank % stages;
        _pipeline = world.Split(_replica, stage) ?? throw new InvalidOperationException("Split returned no pipeline communicator for a non-negative color.");
        _stageReplicas = world.Split(stage, _replica) ?? throw new InvalidOperationException("Split returned no stage communicator for a non-negative color.");
        int maxRows = EpochSampler.ShardRange(settings.BatchSize, 0, _replicas).Length + 1;
        _stage = new GpipeStage(context, _pipeline, settings.Split, maxRows);
        _optimizer = new Optimizer(context.Backend, settings.Optimizer, _stage.Model.ParameterTensors, _stage.GradientSums, context.Schedule);
        var layout = _stage.Model.Layout;
        _buckets = new float[layout.Count];
        _bucketOffsets = Enumerable.Range(0, layout.LayerCount).Select(layout.LayerOffset).ToArray();
    }

    public void Load(Checkpoint state)
    {
        _stage.Model.WriteParameters(state.Parameters.AsSpan(_stage.Offset, _stage.Model.Layout.Count));
        _optimizer.Restore(state.OptimizerSlots, _stage.Offset, state.OptimizerSteps);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var tally = default(EpochTally);
        long epochStart = Stopwatch.GetTimestamp();
        for (int step = 0; step < sampler.StepCount; step++)
        {
            _pending.Clear();
            tally = _stage.Step(sampler.Shard(step, _replica, _replicas), sampler.GlobalBatch, tally, StartLayerAllReduce);
            WaitForAllReduces();
            using (Timeline.Span(_context.World, "optimizer step", "train")) _optimizer.Step();
            onStep(step);
        }
        _stepSeconds += Stopwatch.GetElapsedTime(epochStart).TotalSeconds;
        return tally;
    }

    /// <summary>Called during the last backward micro-batch once stage-local layer <paramref name="layer"/>'s gradient sum is complete.</summary>
    private void StartLayerAllReduce(int layer)
    {
        if (_replicas == 1) return;
        var bucket = _buckets.AsMemory(_bucketOffsets[layer], _stage.Model.Layout.LayerLength(layer));
        _stage.ReadGradientSum(layer, bucket.Span);
        _pending.Add(_stageReplicas.StartAllReduce(bucket, ReduceOp.Sum, _context.Collective));
    }

    /// <summary>Waits for the stage's AllReduces (the part the backward passes did not hide) and puts the sums back.</summary>
    private void WaitForAllReduces()
    {
        if (_replicas == 1) return;
        long start = Stopwatch.GetTimestamp();
        using (Timeline.Span(_context.World, "bucket AllReduce", "train"))
            foreach (var handle in _pending) handle.Wait();
        _context.Clock.Add(start);
        _allReduceWaitSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
        var layout = _stage.Model.Layout;
        for (int l = 0; l < layout.LayerCount; l++) _stage.WriteGradientSum(l, _buckets.AsSpan(_bucketOffsets[l], layout.LayerLength(l)));
    }

    public Checkpoint Gather(int completedEpochs)
    {
        // The replicas of a stage hold bitwise the same state (same AllReduce result, same step): replica 0's stages
        // contribute it, the others contribute nothing.
        var settings = _context.Settings;
        int count = _context.Layout.Count;
        bool contributes = _replica == 0;
        var stage = new float[contributes ? _stage.Model.Layout.Count : 0];
        if (contributes) _stage.Model.ReadParameters(stage);
        var parameters = StateGather.Assemble(_context.World, count, _stage.Offset, stage);
        var slots = StateGather.AssembleSlots(_context.World, contributes ? _optimizer : null, settings.Optimizer.SlotCount, count, _stage.Offset);
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, _optimizer.StepCount, parameters, slots);
    }

    public IReadOnlyList<string> Describe()
    {
        Span<double> sums = [_stage.WaitSeconds, _allReduceWaitSeconds, _stepSeconds];
        _context.World.AllReduce(sums, ReduceOp.Sum);
        var settings = _context.Settings;
        int micro = _stage.MicroBatches, stages = _stage.Stages;
        double ideal = (double)(stages - 1) / (micro + stages - 1);
        double time = Math.Max(sums[2], 1e-9);
        return
        [
            $"hybrid: {stages} stages (layers per stage {string.Join(",", settings.Split)}) x {_replicas} data-parallel replica{(_replicas == 1 ? "" : "s")}, {micro} micro-batches per replica's share of the batch of {settings.BatchSize}; " +
            $"each stage's gradients summed over its replicas by AllReduce {settings.Algorithm}, one layer at a time during the last backward micro-batch",
            $"bubble: GPipe schedule {100 * ideal:F1}% idle; measured share of stage time spent waiting on neighbouring stages {100 * sums[0] / time:F1}%, " +
            $"waiting on the replicas' AllReduce after the backward pass {100 * sums[1] / time:F1}%",
        ];
    }

    public void Dispose()
    {
        _stage.Dispose();
        _optimizer.Dispose();
        _pipeline.Dispose();
        _stageReplicas.Dispose();
    }
}
