namespace AllReduceNet.Serving.Drift;

/// <summary>Pearson's chi-square goodness-of-fit test of observed counts against expected proportions, with its p-value
/// from the regularized upper incomplete gamma function (series below a + 1, continued fraction above, as Numerical Recipes' gammq).</summary>
internal static class ChiSquare
{
    /// <summary>The statistic Σ (O - E)² / E and its degrees of freedom (cells with a positive expectation, minus one).</summary>
    /// <param name="observed">Counts per cell.</param>
    /// <param name="expectedProportions">Each cell's expected share; they need not sum to exactly 1 (they are normalized).</param>
    public static (double Statistic, int DegreesOfFreedom) Statistic(ReadOnlySpan<long> observed, ReadOnlySpan<double> expectedProportions)
    {
        if (observed.Length != expectedProportions.Length) throw new ArgumentException("one expected proportion per observed cell is needed.");
        double total = 0, shares = 0;
        foreach (long o in observed) total += o;
        foreach (double p in expectedProportions) shares += p;
        if (total == 0 || !(shares > 0)) throw new ArgumentException("the test needs at least one observation and a positive expected proportion.");
        double statistic = 0;
        int cells = 0;
        for (int k = 0; k < observed.Length; k++)
        {
            double expected = total * expectedProportions[k] / shares;
            if (expected <= 0) continue;
            statistic += (observed[k] - expected) * (observed[k] - expected) / expected;
            cells++;
        }
        return (statistic, Math.Max(cells - 1, 1));
    }

    /// <summary>P(χ²(df) &gt; <paramref name="statistic"/>).</summary>
    public static double PValue(double statistic, int degreesOfFreedom) =>
        statistic <= 0 ? 1 : UpperRegularizedGamma(degreesOfFreedom / 2.0, statistic / 2);

    /// <summary>Q(a, x) = Γ(a, x) / Γ(a).</summary>
    public static double UpperRegularizedGamma(double a, double x)
    {
        if (x <= 0) return 1;
        double logPrefix = -x + a * Math.Log(x) - LogGamma(a);
        if (x < a + 1)
        {
            // P(a, x) by its series; Q = 1 - P.
            double term = 1 / a, sum = term;
            for (int n = 1; n < 1000; n++)
            {
                term *= x / (a + n);
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * 1e-15) break;
            }
            return Math.Clamp(1 - sum * Math.Exp(logPrefix), 0, 1);
        }
        // Q(a, x) by Lentz's continued fraction.
        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (int i = 1; i < 1000; i++)
        {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15) break;
        }
        return Math.Clamp(Math.Exp(logPrefix) * h, 0, 1);
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, nine coefficients: about 15 digits).</summary>
    public static double LogGamma(double x)
    {
        if (x < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);
        x -= 1;
        double sum = Lanczos[0];
        for (int i = 1; i < Lanczos.Length; i++) sum += Lanczos[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];
}
