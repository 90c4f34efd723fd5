namespace AllReduceNet.Serving.Drift;

/// <summary>
/// The two-sample Kolmogorov-Smirnov test: the statistic D is the largest gap between the two empirical distribution
/// functions; its p-value is the asymptotic one (Kolmogorov's distribution at sqrt(n m / (n + m)) D, with Stephens'
/// small-sample correction, as Numerical Recipes' kstwo), which is what scipy's ks_2samp(method="asymp") computes up to that correction.
/// </summary>
internal static class KolmogorovSmirnov
{
    /// <summary>D of two samples (exact: evaluated at every sample value).</summary>
    public static double Statistic(double[] a, double[] b)
    {
        if (a.Length == 0 || b.Length == 0) throw new ArgumentException("both samples need at least one value.");
        var x = a.Order().ToArray();
        var y = b.Order().ToArray();
        int i = 0, j = 0;
        double d = 0;
        while (i < x.Length && j < y.Length)
        {
            double v = Math.Min(x[i], y[j]);
            while (i < x.Length && x[i] == v) i++;
            while (j < y.Length && y[j] == v) j++;
            d = Math.Max(d, Math.Abs((double)i / x.Length - (double)j / y.Length));
        }
        return d;
    }

    /// <summary>D of two samples binned into the same ordered cells (evaluated at the cells' right edges: a lower bound
    /// of the exact D that is exact when no cell holds values of both samples that the exact D would separate).</summary>
    /// <param name="reference">Reference counts per cell.</param>
    /// <param name="current">Current counts per cell, same cells.</param>
    public static double Statistic(ReadOnlySpan<long> reference, ReadOnlySpan<long> current)
    {
        double n = Sum(reference), m = Sum(current);
        if (n == 0 || m == 0) throw new ArgumentException("both samples need at least one value.");
        double fr = 0, fc = 0, d = 0;
        for (int k = 0; k < reference.Length; k++)
        {
            fr += reference[k] / n;
            fc += current[k] / m;
            d = Math.Max(d, Math.Abs(fr - fc));
        }
        return d;
    }

    /// <summary>The asymptotic p-value of <paramref name="d"/> for samples of <paramref name="n"/> and <paramref name="m"/> values.</summary>
    public static double PValue(double d, double n, double m)
    {
        double effective = Math.Sqrt(n * m / (n + m));
        return KolmogorovSurvival((effective + 0.12 + 0.11 / effective) * d);
    }

    /// <summary>Q(λ) = P(K &gt; λ) of Kolmogorov's distribution: 2 Σ (-1)^(k-1) exp(-2 k² λ²); for small λ the
    /// Jacobi-transformed series 1 - sqrt(2π)/λ Σ exp(-(2k-1)² π² / (8 λ²)), which converges there.</summary>
    public static double KolmogorovSurvival(double lambda)
    {
        if (lambda <= 0) return 1;
        if (lambda < 1.18)
        {
            double sum = 0, w = -Math.PI * Math.PI / (8 * lambda * lambda);
            for (int k = 1; k <= 20; k++) sum += Math.Exp((2 * k - 1) * (2 * k - 1) * w);
            return Math.Clamp(1 - Math.Sqrt(2 * Math.PI) / lambda * sum, 0, 1);
        }
        double q = 0;
        for (int k = 1; k <= 100; k++)
        {
            double term = Math.Exp(-2.0 * k * k * lambda * lambda);
            q += (k % 2 == 1 ? 2 : -2) * term;
            if (term < 1e-16) break;
        }
        return Math.Clamp(q, 0, 1);
    }

    private static double Sum(ReadOnlySpan<long> counts)
    {
        double total = 0;
        foreach (long c in counts) total += c;
        return total;
    }
}
