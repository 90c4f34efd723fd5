namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// Rényi differential privacy of one step of the Poisson-subsampled Gaussian mechanism (each record joins the batch
/// with probability q; the clipped sum gets N(0, σ²C²) noise), after Mironov, Talwar and Zhang 2019, "Rényi
/// Differential Privacy of the Sampled Gaussian Mechanism" (arXiv:1908.10530). RDP at order α is log(A_α)/(α-1), where
/// A_α = E_{z~N(0,σ²)}[((1-q) + q·e^{(2z-1)/(2σ²)})^α]. Integer orders use the exact binomial sum; fractional orders use
/// the paper's two-sided series with erfc tails. All sums run in log space.
/// </summary>
public static class SubsampledGaussianRdp
{
    /// <summary>
    /// Opacus' default orders (RDPAccountant.DEFAULT_ALPHAS): 1.1 to 10.9 in steps of 0.1, then 12 to 63. The fine
    /// steps near 1 serve small epsilons, the integers large ones.
    /// </summary>
    public static IReadOnlyList<double> DefaultOrders { get; } = BuildDefaultOrders();

    /// <summary>
    /// RDP of one step at each order: log(A_α)/(α-1). σ = 0 gives +∞ (no noise, no privacy); q = 1 is the plain Gaussian
    /// mechanism, α/(2σ²).
    /// </summary>
    /// <param name="samplingRate">q, the probability that a record is in a step's batch, in (0, 1].</param>
    /// <param name="noiseMultiplier">σ, noise standard deviation over the clipping norm, ≥ 0.</param>
    /// <param name="orders">Rényi orders, each &gt; 1.</param>
    public static double[] Compute(double samplingRate, double noiseMultiplier, IReadOnlyList<double> orders)
    {
        ArgumentNullException.ThrowIfNull(orders);
        PrivacyArguments.RequireSamplingRate(samplingRate);
        PrivacyArguments.RequireNoiseMultiplier(noiseMultiplier);
        var rdp = new double[orders.Count];
        for (int i = 0; i < rdp.Length; i++) rdp[i] = ComputeAtOrder(samplingRate, noiseMultiplier, orders[i]);
        return rdp;
    }

    /// <summary>RDP of one step at a single order α &gt; 1 (see <see cref="Compute"/>).</summary>
    public static double ComputeAtOrder(double samplingRate, double noiseMultiplier, double order)
    {
        PrivacyArguments.RequireSamplingRate(samplingRate);
        PrivacyArguments.RequireNoiseMultiplier(noiseMultiplier);
        PrivacyArguments.RequireOrder(order);
        if (noiseMultiplier == 0 || double.IsPositiveInfinity(order)) return double.PositiveInfinity;
        if (double.IsPositiveInfinity(noiseMultiplier)) return 0;
        if (samplingRate == 1) return order / (2 * noiseMultiplier * noiseMultiplier);
        double logA = LogA(samplingRate, noiseMultiplier, order);
        // A_α ≥ 1 in exact arithmetic (Jensen); rounding can leave log A a hair below 0 when q is tiny.
        return Math.Max(0, logA / (order - 1));
    }

    /// <summary>log(A_α) by the integer or the fractional series.</summary>
    internal static double LogA(double q, double sigma, double order)
    {
        return order == Math.Floor(order) && order < 1e6
            ? LogAIntegerOrder(q, sigma, (long)order)
            : LogAFractionalOrder(q, sigma, order);
    }

    /// <summary>A_α = Σ_{k=0..α} C(α,k) (1-q)^(α-k) q^k e^{(k²-k)/(2σ²)}: exact for integer α.</summary>
    private static double LogAIntegerOrder(double q, double sigma, long alpha)
    {
        double logQ = Math.Log(q), logOneMinusQ = LogMath.LogOnePlus(-q), twoSigmaSquared = 2 * sigma * sigma;
        double logA = double.NegativeInfinity, logBinomial = 0;
        for (long k = 0; k <= alpha; k++)
        {
            double term = logBinomial + k * logQ + (alpha - k) * logOneMinusQ + ((double)k * k - k) / twoSigmaSquared;
            logA = LogMath.LogAdd(logA, term);
            logBinomial += Math.Log(alpha - k) - Math.Log(k + 1);
        }
        return logA;
    }

    /// <summary>
    /// A_α for fractional α: split the integral at z0 = σ² log(1/q - 1) + 1/2, where q·e^{(2z-1)/(2σ²)} = 1-q, and
    /// expand the binomial on each side. Below z0: Σ C(α,i) q^i (1-q)^(α-i) e^{(i²-i)/(2σ²)} erfc((i-z0)/(√2σ))/2;
    /// above: the same with i and α-i swapped in the powers and erfc((z0-(α-i))/(√2σ))/2. Past i &gt; α the
    /// coefficients alternate in sign and the terms fall, so the error is below the first term left out.
    /// </summary>
    private static double LogAFractionalOrder(double q, double sigma, double alpha)
    {
        double logQ = Math.Log(q), logOneMinusQ = LogMath.LogOnePlus(-q), twoSigmaSquared = 2 * sigma * sigma;
        double z0 = sigma * sigma * (Math.Log(1 - q) - logQ) + 0.5;
        double sqrt2Sigma = Math.Sqrt(2) * sigma, logHalf = -Math.Log(2);
        // Positive and negative parts kept apart so that every log-space operation is an addition.
        double logPositive = double.NegativeInfinity, logNegative = double.NegativeInfinity;
        double logAbsBinomial = 0;
        bool binomialPositive = true;
        const int MaxTerms = 2_000_000;
        for (int i = 0; i < MaxTerms; i++)
        {
            double j = alpha - i;
            double logTerm0 = logAbsBinomial + i * logQ + j * logOneMinusQ + ((double)i * i - i) / twoSigmaSquared
                              + logHalf + LogMath.LogErfc((i - z0) / sqrt2Sigma);
            double logTerm1 = logAbsBinomial + j * logQ + i * logOneMinusQ + (j * j - j) / twoSigmaSquared
                              + logHalf + LogMath.LogErfc((z0 - j) / sqrt2Sigma);
            double logBoth = LogMath.LogAdd(logTerm0, logTerm1);
            if (binomialPositive) logPositive = LogMath.LogAdd(logPositive, logBoth);
            else logNegative = LogMath.LogAdd(logNegative, logBoth);

            // Once past α the series alternates with falling terms: stop when a term is below double precision of
            // the sum (the first i > α terms can still grow, so never stop before).
            if (i > alpha + 1 && logBoth < logPositive - 39) break;
            // C(α, i+1) = C(α, i)·(α-i)/(i+1); the sign flips whenever α-i < 0.
            logAbsBinomial += Math.Log(Math.Abs(alpha - i)) - Math.Log(i + 1);
            if (alpha - i < 0) binomialPositive = !binomialPositive;
        }
        return LogMath.LogSubtract(logPositive, logNegative);
    }

    private static double[] BuildDefaultOrders()
    {
        var orders = new List<double>();
        for (int x = 1; x < 100; x++) orders.Add(1 + x / 10.0);
        for (int order = 12; order < 64; order++) orders.Add(order);
        return orders.ToArray();
    }
}
