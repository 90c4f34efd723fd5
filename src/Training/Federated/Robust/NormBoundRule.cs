using System.Globalization;
using System.Numerics.Tensors;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// --aggregator norm-bound:C (Sun et al. 2019, "Can you really backdoor federated learning?"): each delta is scaled
/// down to L2 norm C when longer, then the sample-weighted mean is taken. Down-weighted: the clipped inputs.
/// </summary>
internal sealed class NormBoundRule : IRobustRule
{
    /// <param name="bound">C, finite and positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">C not finite and positive.</exception>
    public NormBoundRule(double bound)
    {
        if (!(bound > 0 && double.IsFinite(bound))) throw new ArgumentOutOfRangeException(nameof(bound), bound, "norm-bound: C must be finite and positive.");
        Bound = bound;
    }

    public double Bound { get; }
    public string Name => string.Create(CultureInfo.InvariantCulture, $"norm-bound:{Bound}");
    public int MinimumInputs => 1;
    public string Limit => "n >= 1";

    public RobustOutcome Aggregate(IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights)
    {
        RobustMath.Check(this, deltas, weights);
        int n = deltas.Count;
        var scales = new double[n];
        var clipped = new List<int>();
        for (int i = 0; i < n; i++)
        {
            double norm = TensorPrimitives.Norm<float>(deltas[i]);
            scales[i] = norm > Bound ? Bound / norm : 1.0;
            if (norm > Bound) clipped.Add(i);
        }
        return new RobustOutcome(RobustMath.WeightedMean(deltas, weights, Enumerable.Range(0, n).ToArray(), scales), [], clipped.ToArray());
    }
}
