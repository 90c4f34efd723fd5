namespace AllReduceNet.Training.Optim;

/// <summary>Which update rule the optimizer applies; the numeric values are stored in checkpoints.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with (optional) momentum: one state slot per parameter.</summary>
    Sgd = 0,
    /// <summary>Adam: two state slots per parameter (first and second moments).</summary>
    Adam = 1,
}
