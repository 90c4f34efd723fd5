namespace AllReduceNet.Training.Training;

/// <summary>What rank 0 reports after an epoch (summed or averaged over ranks).</summary>
internal sealed record EpochReport(int Epoch, int Epochs, string Strategy, int Ranks, double Loss, double TrainAccuracy,
    double TestAccuracy, double Seconds, double SamplesPerSecond, double CommunicationShare, double? ConsensusDistance = null)
{
    /// <summary>--dp: the run's ε at <see cref="Delta"/> after this epoch (RDP accountant), or null.</summary>
    public double? Epsilon { get; init; }
    /// <summary>--dp: δ of <see cref="Epsilon"/>.</summary>
    public double? Delta { get; init; }
    /// <summary>--dp: the data set's ε over every run in the privacy ledger, or null.</summary>
    public double? DatasetEpsilon { get; init; }
    /// <summary>ddp: bytes rank 0 sent per step for the gradients (compressed or not), or null.</summary>
    public double? BytesPerStep { get; init; }
    /// <summary>Seconds of the epoch per <see cref="TrainingPhase"/>, mean over the ranks; null where the strategy measures none.</summary>
    public double[]? PhaseSeconds { get; init; }
}
