namespace AllReduceNet.Training.Federated;

/// <summary>The standard normal distribution's CDF and its inverse (ALIE's z_max).</summary>
internal static class StandardNormal
{
    /// <summary>Phi(x), from erfc by a Chebyshev fit (fractional error below 1.2e-7 everywhere).</summary>
    public static double Cdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>Phi^-1(p) for p in (0, 1), by bisection on <see cref="Cdf"/> to 1e-10.</summary>
    /// <exception cref="ArgumentOutOfRangeException">p outside (0, 1).</exception>
    public static double InverseCdf(double p)
    {
        if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "the probability must be in (0, 1).");
        double low = -40, high = 40;
        while (high - low > 1e-10)
        {
            double middle = (low + high) / 2;
            if (Cdf(middle) < p) low = middle; else high = middle;
        }
        return (low + high) / 2;
    }

    private static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
