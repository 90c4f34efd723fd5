namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// Arithmetic in log space and the complementary error function, which .NET does not provide. The accountant sums
/// terms such as e^700 and e^-700 side by side, so everything stays as logarithms until the end.
/// </summary>
internal static class LogMath
{
    private static readonly double LogSqrtPi = 0.5 * Math.Log(Math.PI);
    private static readonly double TwoOverSqrtPi = 2.0 / Math.Sqrt(Math.PI);

    // Below 1 the series for erf loses at most a factor 1/erfc(1) ≈ 6 to cancellation in 1 - erf; above it the
    // continued fraction converges in a few dozen terms (near 0.5 it needs thousands and gathers rounding error).
    private const double SeriesLimit = 1.0;

    /// <summary>log(e^a + e^b) without overflow.</summary>
    public static double LogAdd(double logA, double logB)
    {
        double high = Math.Max(logA, logB), low = Math.Min(logA, logB);
        if (double.IsNegativeInfinity(high)) return high;
        return high + Math.Log(1 + Math.Exp(low - high));
    }

    /// <summary>log(e^a - e^b) for a ≥ b; the accountant's series only subtracts a smaller term from a larger sum.</summary>
    public static double LogSubtract(double logA, double logB)
    {
        if (logA < logB) throw new ArithmeticException($"log-space subtraction would go negative ({logA} < {logB})");
        if (double.IsNegativeInfinity(logB)) return logA;
        if (logA == logB) return double.NegativeInfinity;
        // log(e^a - e^b) = a + log(1 - e^(b-a)); log(-expm1(x)) keeps precision when b is close to a.
        double difference = logB - logA;
        return logA + (difference > -0.693 ? Math.Log(-ExpMinusOne(difference)) : Math.Log(1 - Math.Exp(difference)));
    }

    /// <summary>e^x - 1, accurate near 0 (.NET has no expm1).</summary>
    public static double ExpMinusOne(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + 0.5 * x * x + x * x * x / 6;
        if (Math.Abs(x) > 0.5) return Math.Exp(x) - 1;
        // Kahan's trick: the rounding error of exp(x) cancels against that of log(exp(x)).
        double u = Math.Exp(x);
        return (u - 1) * x / Math.Log(u);
    }

    /// <summary>log(1 + x), accurate near 0.</summary>
    public static double LogOnePlus(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>The complementary error function erfc(x) = 1 - erf(x), to double precision.</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (Math.Abs(x) < SeriesLimit) return 1 - ErfSeries(x);
        if (x > 0) return Math.Exp(LogErfcContinuedFraction(x));
        return 2 - Math.Exp(LogErfcContinuedFraction(-x));
    }

    /// <summary>
    /// log(erfc(x)) for any x: finite far beyond where erfc(x) underflows (x > 27), which the fractional-order series
    /// needs, since its terms multiply tiny tail probabilities by huge binomial factors.
    /// </summary>
    public static double LogErfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (double.IsPositiveInfinity(x)) return double.NegativeInfinity;
        if (double.IsNegativeInfinity(x)) return Math.Log(2);
        if (Math.Abs(x) < SeriesLimit) return LogOnePlus(-ErfSeries(x));
        if (x > 0) return LogErfcContinuedFraction(x);
        // erfc(x) = 2 - erfc(-x), and erfc(-x) < 0.16 here, so no cancellation.
        return Math.Log(2) + LogOnePlus(-0.5 * Math.Exp(LogErfcContinuedFraction(-x)));
    }

    /// <summary>The standard normal distribution function Φ(x) = erfc(-x/√2)/2.</summary>
    public static double NormalCdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>erf(x) by its Maclaurin series; used only for |x| &lt; 1, where the terms fall after the first.</summary>
    private static double ErfSeries(double x)
    {
        double xSquared = x * x, power = x, sum = x;
        for (int n = 1; n < 100; n++)
        {
            power *= -xSquared / n;
            double term = power / (2 * n + 1);
            sum += term;
            if (Math.Abs(term) < 1e-17 * Math.Abs(sum)) break;
        }
        return TwoOverSqrtPi * sum;
    }

    /// <summary>
    /// log(erfc(x)) for x ≥ 1 by the continued fraction
    /// erfc(x) = (2x/√π) e^(-x²) / (2x²+1 - 1·2/(2x²+5 - 3·4/(2x²+9 - …))), evaluated with the modified Lentz method.
    /// </summary>
    private static double LogErfcContinuedFraction(double x)
    {
        if (x > 1e150) return double.NegativeInfinity; // x² overflows; erfc is far below anything representable.
        const double Tiny = 1e-300;
        double twoXSquared = 2 * x * x;
        double f = twoXSquared + 1, c = f, d = 0;
        for (int n = 1; n < 100_000; n++)
        {
            double a = -(2.0 * n - 1) * (2.0 * n), b = twoXSquared + 1 + 4.0 * n;
            d = b + a * d;
            if (Math.Abs(d) < Tiny) d = Tiny;
            c = b + a / c;
            if (Math.Abs(c) < Tiny) c = Tiny;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Log(2 * x) - LogSqrtPi - x * x - Math.Log(f);
    }
}
