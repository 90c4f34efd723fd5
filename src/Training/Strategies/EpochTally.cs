namespace AllReduceNet.Training.Strategies;

/// <summary>One rank's training statistics for one epoch, summed over ranks by the trainer.</summary>
internal readonly record struct EpochTally(double LossSum, long Correct, long Samples);
