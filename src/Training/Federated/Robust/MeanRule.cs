namespace AllReduceNet.Training.Federated;

/// <summary>--aggregator mean: the sample-weighted mean (FedAvg); rejects nothing. The baseline the attacks break.</summary>
internal sealed class MeanRule : IRobustRule
{
    public string Name => "mean";
    public int MinimumInputs => 1;
    public string Limit => "n >= 1";

    public RobustOutcome Aggregate(IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights)
    {
        RobustMath.Check(this, deltas, weights);
        return new RobustOutcome(RobustMath.WeightedMean(deltas, weights, Enumerable.Range(0, deltas.Count).ToArray()), [], []);
    }
}
