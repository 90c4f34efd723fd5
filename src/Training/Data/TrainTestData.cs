namespace AllReduceNet.Training.Data;

/// <summary>A training set and a test set with the same features and classes.</summary>
internal sealed record TrainTestData(Dataset Train, Dataset Test, string Description);
