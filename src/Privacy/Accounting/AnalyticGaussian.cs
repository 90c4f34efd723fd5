namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// The exact (ε, δ) curve of the Gaussian mechanism without subsampling, composed T times: it is again Gaussian, with
/// μ = √T/σ, and δ(ε) = Φ(-ε/μ + μ/2) - e^ε Φ(-ε/μ - μ/2) (Balle and Wang 2018, "Improving the Gaussian Mechanism for
/// Differential Privacy", Theorem 8; Dong, Roth, Su 2019 for composition). It is the ground truth against which the
/// RDP bound for q = 1 is measured, and the tightest answer for releases that are all plain Gaussian (full-batch
/// steps, noised parameter-server pushes, federated rounds with every client).
/// </summary>
public static class AnalyticGaussian
{
    /// <summary>δ(ε) after <paramref name="steps"/> releases with noise multiplier σ.</summary>
    public static double Delta(double epsilon, double noiseMultiplier, long steps)
    {
        if (double.IsNaN(epsilon) || epsilon < 0) throw new PrivacyException($"epsilon must be >= 0; got {PrivacyArguments.Format(epsilon)}");
        double mu = Mu(noiseMultiplier, steps);
        if (mu == 0) return 0;
        if (double.IsPositiveInfinity(mu)) return 1;
        // e^ε Φ(-ε/μ - μ/2) in log space: for large ε the factor e^ε overflows while Φ underflows.
        double second = Math.Exp(epsilon + LogNormalCdf(-epsilon / mu - mu / 2));
        return Math.Max(0, LogMath.NormalCdf(-epsilon / mu + mu / 2) - second);
    }

    /// <summary>The smallest ε with δ(ε) ≤ <paramref name="delta"/> (δ(ε) falls with ε), by bisection to 1e-12.</summary>
    public static double Epsilon(double delta, double noiseMultiplier, long steps)
    {
        PrivacyArguments.RequireDelta(delta);
        double mu = Mu(noiseMultiplier, steps);
        if (mu == 0 || Delta(0, noiseMultiplier, steps) <= delta) return 0;
        if (double.IsPositiveInfinity(mu)) return double.PositiveInfinity;
        double low = 0, high = 1;
        for (int i = 0; i < 2000 && Delta(high, noiseMultiplier, steps) > delta; i++) high *= 2;
        for (int i = 0; i < 200 && high - low > 1e-12 * Math.Max(1, high); i++)
        {
            double middle = (low + high) / 2;
            if (Delta(middle, noiseMultiplier, steps) > delta) low = middle;
            else high = middle;
        }
        return high;
    }

    private static double Mu(double noiseMultiplier, long steps)
    {
        PrivacyArguments.RequireNoiseMultiplier(noiseMultiplier);
        PrivacyArguments.RequireSteps(steps);
        if (steps == 0) return 0;
        return noiseMultiplier == 0 ? double.PositiveInfinity : Math.Sqrt(steps) / noiseMultiplier;
    }

    private static double LogNormalCdf(double x) => LogMath.LogErfc(-x / Math.Sqrt(2)) - Math.Log(2);
}
