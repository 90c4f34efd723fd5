namespace AllReduceNet.Training.Optim;

/// <summary>The update rule and its hyper-parameters.</summary>
internal sealed record OptimizerSettings(OptimizerKind Kind, float LearningRate, float Momentum, float WeightDecay)
{
    /// <summary>State floats kept per parameter.</summary>
    public int SlotCount => Kind == OptimizerKind.Adam ? 2 : 1;
}
