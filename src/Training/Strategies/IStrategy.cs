using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// One way of spreading training over the ranks. The <see cref="Training.Trainer"/> drives it epoch by epoch; every
/// method is collective (all ranks of the world call it, in the same order).
/// </summary>
internal interface IStrategy : IDisposable
{
    /// <summary>Takes this rank's part of the full state (initial or resumed).</summary>
    void Load(Checkpoint state);

    /// <summary>Trains one epoch; <paramref name="onStep"/> is called after each step with its index.</summary>
    /// <returns>This rank's loss sum, correct predictions and samples (zero on ranks that compute no loss).</returns>
    EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep);

    /// <summary>Gathers the full parameters and optimizer state onto every rank.</summary>
    Checkpoint Gather(int completedEpochs);

    /// <summary>Strategy-specific lines for the report (optimizer memory, bytes saved, bubble).</summary>
    IReadOnlyList<string> Describe();

    /// <summary>Lines rank 0 prints before training (gossip: the mixing matrix); not collective.</summary>
    IReadOnlyList<string> Preamble() => [];

    /// <summary>How far the ranks' replicas are from their mean after the last <see cref="Gather"/>; null where they are identical by construction.</summary>
    double? ConsensusDistance => null;

    /// <summary>Bytes this rank sent per step of the last epoch for the gradients, where the strategy counts them (ddp); else null.</summary>
    double? BytesPerStep => null;
}
