namespace AllReduceNet.Serving.Drift;

/// <summary>
/// The population stability index of two binned samples: Σ (c - r) ln(c / r) over the cells' proportions, with empty
/// cells given a proportion of 0.0001 as Evidently does. Below 0.1 is read as no significant change; 0.1 is Evidently's threshold.
/// </summary>
internal static class PopulationStabilityIndex
{
    /// <summary>The proportion an empty cell is given, so that the logarithm stays finite.</summary>
    public const double EmptyCell = 0.0001;

    /// <summary>PSI of <paramref name="current"/> against <paramref name="reference"/>, counted in the same cells.</summary>
    public static double Compute(ReadOnlySpan<long> reference, ReadOnlySpan<long> current)
    {
        if (reference.Length != current.Length) throw new ArgumentException("both samples must be counted in the same cells.");
        double n = 0, m = 0;
        foreach (long c in reference) n += c;
        foreach (long c in current) m += c;
        if (n == 0 || m == 0) throw new ArgumentException("both samples need at least one value.");
        double psi = 0;
        for (int k = 0; k < reference.Length; k++)
        {
            double r = reference[k] == 0 ? EmptyCell : reference[k] / n;
            double c = current[k] == 0 ? EmptyCell : current[k] / m;
            psi += (c - r) * Math.Log(c / r);
        }
        return psi;
    }
}
