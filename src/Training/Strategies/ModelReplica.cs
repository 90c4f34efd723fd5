using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// One rank's full copy of the model with what a data-parallel step needs beside it: activations, the loss head and
/// the batch input, sized for this rank's share of the global batch. ddp, zero and the parameter server's workers
/// differ only in what they do with the gradients this produces.
/// </summary>
internal sealed class ModelReplica : IDisposable
{
    private readonly Activations _activations;
    private readonly LossHead _head;
    private readonly BatchInput _input;

    /// <summary>A replica for one of <paramref name="shares"/> ranks that split each global batch.</summary>
    public ModelReplica(StrategyContext context, int shares)
    {
        var settings = context.Settings;
        int maxLocal = EpochSampler.ShardRange(settings.BatchSize, 0, shares).Length + 1;
        Model = new Mlp(context.Backend, settings.Layers);
        _activations = Model.CreateActivations(maxLocal);
        _head = new LossHead(context.Backend, Model.OutputSize, maxLocal);
        _input = new BatchInput(context.Backend, context.Data.Train, maxLocal);
    }

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
        var labels = _input.Load(sampler.Shard(step, share, shares));
        int n = labels.Length;
        var logits = Model.Forward(_activations, _input.Device, n);
        var (loss, right) = _head.Compute(logits, labels, lossDivisor ?? sampler.GlobalBatch);
        Model.Backward(_activations, _input.Device, _head.Gradient, null, n, layerReady);
        return new EpochTally(tally.LossSum + (double)loss * n, tally.Correct + right, tally.Samples + n);
    }

    public void Dispose()
    {
        Model.Dispose();
        _activations.Dispose();
        _head.Dispose();
        _input.Dispose();
    }
}
