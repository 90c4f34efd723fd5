using AllReduceNet.Training.Checkpoints;

namespace AllReduceNet.Training.Data;

/// <summary>A training set and a test set with the same features and classes, and how raw inputs were turned into
/// their features (exported with the model so that a server does the same; null: used as they are).</summary>
internal sealed record TrainTestData(Dataset Train, Dataset Test, string Description, Preprocessing? Preprocess = null);
