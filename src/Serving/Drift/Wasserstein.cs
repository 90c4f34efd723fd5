using AllReduceNet.Training.Reference;

namespace AllReduceNet.Serving.Drift;

/// <summary>
/// The Wasserstein-1 (earth mover's) distance between two one-dimensional distributions: the area between their
/// distribution functions, in the feature's own units. Evidently divides it by the reference's standard deviation
/// (at least 0.001) and calls a feature drifted above 0.1; <see cref="Normalized"/> does the same.
/// </summary>
internal static class Wasserstein
{
    /// <summary>The distance between two samples (exact, as scipy.stats.wasserstein_distance without weights).</summary>
    public static double Distance(double[] a, double[] b)
    {
        if (a.Length == 0 || b.Length == 0) throw new ArgumentException("both samples need at least one value.");
        var x = a.Order().ToArray();
        var y = b.Order().ToArray();
        var all = x.Concat(y).Order().ToArray();
        double area = 0;
        int i = 0, j = 0;
        for (int k = 0; k < all.Length - 1; k++)
        {
            while (i < x.Length && x[i] <= all[k]) i++;
            while (j < y.Length && y[j] <= all[k]) j++;
            area += Math.Abs((double)i / x.Length - (double)j / y.Length) * (all[k + 1] - all[k]);
        }
        return area;
    }

    /// <summary>
    /// The distance between a reference histogram and a current sample binned by <see cref="FeatureHistogram.Cell"/>:
    /// each bin's mass sits at the bin's centre; values outside the reference range count at their true distance from
    /// it (<paramref name="belowDistance"/>, <paramref name="aboveDistance"/>: the sums of how far they lie below Low and above High,
    /// divided by the current sample's size here) plus half a bin to the nearest centre. Its error is at most one bin width.
    /// </summary>
    /// <param name="reference">The reference histogram.</param>
    /// <param name="current">Current counts per cell (bins + 2: below, the bins, above).</param>
    /// <param name="belowDistance">Σ (Low - x) over current values below Low.</param>
    /// <param name="aboveDistance">Σ (x - High) over current values above High.</param>
    public static double Distance(FeatureHistogram reference, ReadOnlySpan<long> current, double belowDistance, double aboveDistance)
    {
        int bins = reference.Counts.Length;
        double n = reference.Total, m = 0;
        foreach (long c in current) m += c;
        if (n == 0 || m == 0) throw new ArgumentException("both samples need at least one value.");
        double width = reference.BinWidth;
        // Outside mass first moves to the range's edge, then half a bin to the first or last centre.
        double area = (belowDistance + aboveDistance) / m + (current[0] + current[bins + 1]) / m * width / 2;
        double fr = 0, fc = current[0] / m;
        for (int k = 0; k < bins - 1; k++)
        {
            fr += reference.Counts[k] / n;
            fc += current[k + 1] / m;
            area += Math.Abs(fr - fc) * width;
        }
        return area;
    }

    /// <summary>Evidently's normed distance: <paramref name="distance"/> over the reference deviation, taken as at least 0.001.</summary>
    public static double Normalized(double distance, double referenceDeviation) => distance / Math.Max(referenceDeviation, 0.001);
}
