namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>A retrain job step failed; the message says which and why, and becomes the job's error.</summary>
internal sealed class RetrainFailure(string message) : Exception(message);
