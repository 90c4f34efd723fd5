using System.Globalization;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// --aggregator trimmed-mean:BETA: per coordinate, drops the floor(beta n) largest and the floor(beta n) smallest
/// values and averages the rest, unweighted (Yin et al. 2018; Flower's FedTrimmedAvg, which also ignores sample
/// counts). Needs 2 floor(beta n) &lt; n and, to trim anything, floor(beta n) >= 1. Down-weighted: inputs kept in fewer than half as many coordinates as an input
/// is on average.
/// </summary>
internal sealed class TrimmedMeanRule : IRobustRule
{
    /// <param name="beta">The fraction trimmed on each side, in [0, 0.5).</param>
    /// <exception cref="ArgumentOutOfRangeException">beta outside [0, 0.5).</exception>
    public TrimmedMeanRule(double beta)
    {
        if (!(beta >= 0 && beta < 0.5)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "trimmed-mean: beta must be in [0, 0.5).");
        Beta = beta;
    }

    public double Beta { get; }
    public string Name => string.Create(CultureInfo.InvariantCulture, $"trimmed-mean:{Beta}");

    /// <summary>
    /// The smallest n that trims at least one value on each side (floor(beta n) >= 1): below it the rule is a plain
    /// unweighted mean and no defence. 2 floor(beta n) &lt; n holds for every n since beta &lt; 0.5.
    /// </summary>
    public int MinimumInputs => Beta > 0 ? (int)Math.Ceiling(1 / Beta - 1e-9) : 1;
    public string Limit => string.Create(CultureInfo.InvariantCulture, $"floor(beta n) >= 1 and 2 floor(beta n) < n: n >= {MinimumInputs} for beta = {Beta}");

    /// <summary>Values dropped on each side for <paramref name="n"/> inputs.</summary>
    public int Dropped(int n) => (int)Math.Floor(Beta * n + 1e-9);

    public RobustOutcome Aggregate(IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights)
    {
        int length = RobustMath.Check(this, deltas, weights);
        int n = deltas.Count, drop = Dropped(n);
        var (mean, kept) = RobustMath.TrimmedMean(deltas, drop);
        return new RobustOutcome(mean, [], drop == 0 ? [] : RobustMath.RarelyKept(kept, n - 2 * drop, length, Enumerable.Range(0, n).ToArray()));
    }
}
