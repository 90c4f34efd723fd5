using System.Diagnostics;
using AllReduceNet.Kernels;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Diagnostics;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Privacy;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// One rank's full copy of the model with what a data-parallel step needs beside it: activations, the loss head and
/// the batch input, sized for this rank's share of the global batch. ddp, zero and the parameter server's workers
/// differ only in what they do with the gradients this produces.
/// <para>
/// With --dp the step is DP-SGD's instead (<see cref="PrivateForwardBackward"/>): per-example gradients clipped in
/// batch, this rank's share of the noise added, divided by the expected batch; the strategies then sum it as usual.
/// </para>
/// </summary>
internal sealed class ModelReplica : IDisposable
{
    private readonly Activations _activations;
    private readonly LossHead _head;
    private readonly BatchInput _input;
    private readonly IKernelBackend _backend;
    private readonly DpSgdPlan? _dp;
    private readonly PerExampleClipping? _clipping;
    private readonly NoiseShare? _noise;
    private readonly int _maxLocal;
    private long _privateSteps;
    private readonly Communicator _world;
    private readonly PhaseTimings _phases;

    /// <summary>A replica for one of <paramref name="shares"/> ranks that split each global batch.</summary>
    public ModelReplica(StrategyContext context, int shares)
    {
        var settings = context.Settings;
        _backend = context.Backend;
        _dp = settings.DpPlan;
        int maxLocal = EpochSampler.ShardRange(settings.BatchSize, 0, shares).Length + 1;
        // Poisson batches vary: room for 10 standard deviations (sqrt B) above the expected batch.
        if (_dp is not null) maxLocal = (int)((settings.BatchSize + 10 * Math.Sqrt(settings.BatchSize) + 10) / shares) + 2;
        _maxLocal = maxLocal;
        Model = new Mlp(context.Backend, settings.Layers);
        _activations = Model.CreateActivations(maxLocal);
        _head = new LossHead(context.Backend, Model.OutputSize, maxLocal);
        _input = new BatchInput(context.Backend, context.Data.Train, maxLocal);
        if (_dp is not null)
        {
            _clipping = new PerExampleClipping(context.Backend, maxLocal);
            _noise = new NoiseShare(_dp.NoiseMultiplier * _dp.ClipNorm, shares, _dp.SecureRandom);
        }
        _world = context.World;
        _phases = context.Phases;
    }

    /// <summary>The per-example norms and clip factors of the last DP-SGD step (tests); null without --dp.</summary>
    public PerExampleClipping? Clipping => _clipping;

    public Mlp Model { get; }

    /// <summary>
    /// Forward and backward over share <paramref name="share"/> of <paramref name="shares"/> of step
    /// <paramref name="step"/>: the gradients are left in the model (<see cref="Mlp.ReadGradients"/>), and each layer's
    /// is announced to <paramref name="layerReady"/> as soon as it is done. Returns the tally with this step added.
    /// The loss is divided by <paramref name="lossDivisor"/> (default the global batch, so that summing the ranks'
    /// gradients gives the global mean; gossip passes its own shard's size, for a local mean).
    /// </summary>
    public EpochTally ForwardBackward(EpochSampler sampler, int step, int share, int shares, EpochTally tally, Action<int>? layerReady = null, int? lossDivisor = null)
    {
        if (_dp is not null) return PrivateForwardBackward(sampler.Shard(step, share, shares), sampler.GlobalBatch, tally, layerReady);
        ReadOnlySpan<int> labels;
        using (_phases.Measure(TrainingPhase.DataLoading)) labels = _input.Load(sampler.Shard(step, share, shares));
        int n = labels.Length;
        float loss;
        int right;
        using (Timeline.Span(_world, "forward", "train"))
        using (_phases.Measure(TrainingPhase.Forward))
        {
            var logits = Model.Forward(_activations, _input.Device, n);
            (loss, right) = _head.Compute(logits, labels, lossDivisor ?? sampler.GlobalBatch);
        }
        using (Timeline.Span(_world, "backward", "train"))
        {
            // --no-overlap blocks on each bucket inside the backward pass: that time is the wait's, not the backward's.
            long start = Stopwatch.GetTimestamp(), waitAtStart = _phases.Ticks(TrainingPhase.AllReduceWait);
            Model.Backward(_activations, _input.Device, _head.Gradient, null, n, layerReady);
            _phases.AddExcluding(TrainingPhase.Backward, start, TrainingPhase.AllReduceWait, waitAtStart);
        }
        return new EpochTally(tally.LossSum + (double)loss * n, tally.Correct + right, tally.Samples + n);
    }

    /// <summary>
    /// ddp --reproducible's step: forward and backward over share <paramref name="share"/> of <paramref name="shares"/>
    /// of step <paramref name="step"/>, which holds the parts ending at <paramref name="partEnds"/>; the parameter
    /// gradients are summed over those parts in the fixed tree order (<see cref="Mlp.BackwardTreeOrdered"/>) and the loss
    /// gradient is divided by the global batch once per element, so no bit depends on the rank count.
    /// </summary>
    public EpochTally ForwardBackwardTreeOrdered(EpochSampler sampler, int step, int share, int shares, ReadOnlySpan<int> partEnds,
        EpochTally tally, Action<int>? layerReady)
    {
        ReadOnlySpan<int> labels;
        using (_phases.Measure(TrainingPhase.DataLoading)) labels = _input.Load(sampler.Shard(step, share, shares));
        int n = labels.Length;
        if (partEnds.Length == 0 || partEnds[^1] != n)
            throw new TrainingException($"rank {_world.Rank}: its micro-batches end at row {(partEnds.Length == 0 ? 0 : partEnds[^1])}, but its shard of step {step} has {n} rows");
        float loss;
        int right;
        using (Timeline.Span(_world, "forward", "train"))
        using (_phases.Measure(TrainingPhase.Forward))
        {
            var logits = Model.Forward(_activations, _input.Device, n);
            (loss, right) = _head.ComputeScaledOnce(logits, labels, sampler.GlobalBatch);
        }
        using (Timeline.Span(_world, "backward", "train"))
        {
            long start = Stopwatch.GetTimestamp(), waitAtStart = _phases.Ticks(TrainingPhase.AllReduceWait);
            Model.BackwardTreeOrdered(_activations, _input.Device, _head.Gradient, n, partEnds, layerReady);
            _phases.AddExcluding(TrainingPhase.Backward, start, TrainingPhase.AllReduceWait, waitAtStart);
        }
        return new EpochTally(tally.LossSum + (double)loss * n, tally.Correct + right, tally.Samples + n);
    }

    /// <summary>
    /// One DP-SGD step on this rank's part of a Poisson batch: per-example gradients (the loss head's gradient is not
    /// divided by the batch), each clipped to C in batch (<see cref="PerExampleClipping"/>), summed, this rank's noise
    /// share N(0, σ²C²/R) added (<see cref="NoiseShare"/>), divided by the expected batch B (as Opacus does with
    /// Poisson sampling: the sum over the ranks is (Σ clip(g_i) + N(0, σ²C²)) / B). The layers are announced to
    /// <paramref name="layerReady"/> only after clipping, which needs every layer's norms first.
    /// </summary>
    private EpochTally PrivateForwardBackward(ReadOnlySpan<int> shard, int expectedBatch, EpochTally tally, Action<int>? layerReady)
    {
        if (shard.Length > _maxLocal)
            throw new TrainingException($"a Poisson batch gave this rank {shard.Length} samples, more than the {_maxLocal} it has room for (10 standard deviations above the expected batch)");
        var labels = _input.Load(shard);
        int n = labels.Length;
        float loss = 0;
        int right = 0;
        if (n > 0)
        {
            var logits = Model.Forward(_activations, _input.Device, n);
            (loss, right) = _head.Compute(logits, labels, 1);
            // Only the output gradients: ClipAndSum computes the parameter gradients once, from the clipped rows.
            Model.BackwardOutputGradients(_activations, _head.Gradient, n);
            _clipping!.ClipAndSum(Model, _activations, _input.Device, _head.Gradient, n, (float)_dp!.ClipNorm);
        }
        else
        {
            foreach (var gradient in Model.GradientTensors) gradient.Clear();
        }
        _noise!.Add(_backend, Model.GradientTensors, _privateSteps++);
        foreach (var gradient in Model.GradientTensors) _backend.Scale(gradient, 1f / expectedBatch);
        for (int l = Model.Layout.LayerCount - 1; l >= 0; l--) layerReady?.Invoke(l);
        return new EpochTally(tally.LossSum + (double)loss * n, tally.Correct + right, tally.Samples + n);
    }

    public void Dispose()
    {
        _clipping?.Dispose();
        Model.Dispose();
        _activations.Dispose();
        _head.Dispose();
        _input.Dispose();
    }
}
