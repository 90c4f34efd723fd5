namespace AllReduceNet.Training.Training;

/// <summary>What rank 0 reports after an epoch (summed or averaged over ranks).</summary>
internal sealed record EpochReport(int Epoch, int Epochs, string Strategy, int Ranks, double Loss, double TrainAccuracy,
    double TestAccuracy, double Seconds, double SamplesPerSecond, double CommunicationShare, double? ConsensusDistance = null);
