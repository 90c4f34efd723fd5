namespace AllReduceNet.Training.Federated;

/// <summary>
/// --aggregator median: the coordinate-wise median (Yin et al. 2018; Flower's FedMedian), unweighted: sample counts
/// are ignored, as in Flower. Even n: the mean of the two middle values. Robust while fewer than half the inputs are
/// malicious. Down-weighted: inputs that were the median (or one of the two middle values) in fewer than half as many
/// coordinates as an input is on average.
/// </summary>
internal sealed class MedianRule : IRobustRule
{
    public string Name => "median";
    public int MinimumInputs => 1;
    public string Limit => "n >= 1";

    public RobustOutcome Aggregate(IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights)
    {
        int length = RobustMath.Check(this, deltas, weights);
        int n = deltas.Count;
        // Dropping (n - 1) / 2 on each side leaves the middle value (n odd) or the two middle values (n even).
        int drop = (n - 1) / 2;
        var (mean, kept) = RobustMath.TrimmedMean(deltas, drop);
        return new RobustOutcome(mean, [], RobustMath.RarelyKept(kept, n - 2 * drop, length, Enumerable.Range(0, n).ToArray()));
    }
}
