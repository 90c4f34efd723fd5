namespace AllReduceNet.Training.Federated;

/// <summary>
/// --aggregator krum:F and multikrum:F,M (Blanchard et al. 2017; Flower's Krum): each input's score is the sum of its
/// squared distances to its n - f - 2 closest others; Krum returns the input with the lowest score, Multi-Krum the mean
/// of the M lowest (weighted by sample count, as Flower's aggregate of the selected results; Krum itself ignores
/// weights). Ties go to the lower client id. Needs n >= 2f + 3 (and M &lt;= n - f); the rest are rejected.
/// </summary>
internal sealed class KrumRule : IRobustRule
{
    /// <param name="byzantine">f, the malicious inputs the rule must withstand (at least 0).</param>
    /// <param name="keep">M, the inputs averaged (1: Krum).</param>
    /// <exception cref="ArgumentOutOfRangeException">f &lt; 0 or M &lt; 1.</exception>
    public KrumRule(int byzantine, int keep = 1)
    {
        if (byzantine < 0) throw new ArgumentOutOfRangeException(nameof(byzantine), byzantine, "krum: f must be at least 0.");
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), keep, "multikrum: M must be at least 1.");
        Byzantine = byzantine;
        Keep = keep;
    }

    public int Byzantine { get; }
    public int Keep { get; }
    public string Name => Keep == 1 ? $"krum:{Byzantine}" : $"multikrum:{Byzantine},{Keep}";
    public int MinimumInputs => Math.Max(2 * Byzantine + 3, Keep + Byzantine);
    public string Limit => Keep == 1 || Keep + Byzantine <= 2 * Byzantine + 3
        ? $"n >= 2f + 3 = {2 * Byzantine + 3} for f = {Byzantine}"
        : $"n >= 2f + 3 and M <= n - f: n >= {MinimumInputs} for f = {Byzantine}, M = {Keep}";

    public RobustOutcome Aggregate(IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights)
    {
        RobustMath.Check(this, deltas, weights);
        int n = deltas.Count;
        var all = Enumerable.Range(0, n).ToArray();
        var chosen = RobustMath.Lowest(RobustMath.KrumScores(deltas, all, n - Byzantine - 2), Keep);
        Array.Sort(chosen);
        var delta = Keep == 1 ? (float[])deltas[chosen[0]].Clone() : RobustMath.WeightedMean(deltas, weights, chosen);
        return new RobustOutcome(delta, RobustMath.Complement(n, chosen), []);
    }
}
