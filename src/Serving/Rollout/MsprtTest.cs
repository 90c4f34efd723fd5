namespace AllReduceNet.Serving;

/// <summary>
/// The mixture sequential probability ratio test (mSPRT) for the difference of two proportions, as in Johari, Pekelis
/// and Walsh, "Always valid inference: bringing sequential analysis to A/B testing" (2017) and Optimizely's Stats
/// Engine. With control successes <c>sA</c> of <c>nA</c> and candidate successes <c>sB</c> of <c>nB</c>, the observed
/// difference <c>d = sB/nB - sA/nA</c> is taken as normal with variance <c>V = p(1-p)(1/nA + 1/nB)</c> (p pooled, the
/// variance under "no difference"), and a normal mixing prior N(0, tau^2) on the true difference gives the likelihood
/// ratio <c>Lambda = sqrt(V / (V + tau^2)) * exp(d^2 tau^2 / (2 V (V + tau^2)))</c>. Under "no difference" Lambda is a
/// martingale, so by Ville's inequality it ever reaches 1/alpha with probability at most alpha: the p-value
/// <c>min(1, 1/Lambda)</c>, kept as a running minimum, may be watched after every observation.
/// </summary>
internal static class MsprtTest
{
    /// <summary>The evidence after some observations.</summary>
    /// <param name="Difference">Candidate rate minus control rate.</param>
    /// <param name="Variance">The variance of <paramref name="Difference"/> used (pooled).</param>
    /// <param name="LikelihoodRatio">The mixture likelihood ratio Lambda.</param>
    /// <param name="PValue">min(1, 1/Lambda) for this step alone (the caller keeps the running minimum).</param>
    public readonly record struct Evidence(double Difference, double Variance, double LikelihoodRatio, double PValue);

    /// <summary>The mixture likelihood ratio for the counts so far.</summary>
    /// <param name="controlTrials">nA, at least 1.</param>
    /// <param name="controlSuccesses">sA, 0..nA.</param>
    /// <param name="candidateTrials">nB, at least 1.</param>
    /// <param name="candidateSuccesses">sB, 0..nB.</param>
    /// <param name="tau">The mixing prior's standard deviation on the difference (its scale: the effects expected).</param>
    public static Evidence Evaluate(long controlTrials, long controlSuccesses, long candidateTrials, long candidateSuccesses, double tau)
    {
        if (controlTrials < 1 || candidateTrials < 1) return new Evidence(0, double.NaN, 1, 1);
        double rateA = (double)controlSuccesses / controlTrials, rateB = (double)candidateSuccesses / candidateTrials;
        double pooled = (double)(controlSuccesses + candidateSuccesses) / (controlTrials + candidateTrials);
        double variance = pooled * (1 - pooled) * (1.0 / controlTrials + 1.0 / candidateTrials);
        double difference = rateB - rateA;
        // All successes or all failures on both sides: the data say nothing about a difference.
        if (variance <= 0) return new Evidence(difference, 0, 1, 1);
        double tau2 = tau * tau;
        double logRatio = 0.5 * Math.Log(variance / (variance + tau2)) + difference * difference * tau2 / (2 * variance * (variance + tau2));
        double ratio = Math.Exp(logRatio);
        return new Evidence(difference, variance, ratio, Math.Min(1, 1 / ratio));
    }
}
