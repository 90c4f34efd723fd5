namespace AllReduceNet.Privacy.Accounting;

/// <summary>
/// The noise multiplier σ that reaches a target ε at δ after a planned number of steps (--dp-epsilon, --dp-delta).
/// The search is Opacus' get_noise_multiplier: double σ from 20 until ε falls below the target, then bisect
/// [0, σ_high] until the ε of σ_high is within the tolerance below the target; σ_high is returned, so the guarantee
/// is never worse than asked.
/// </summary>
public static class NoiseCalibration
{
    /// <summary>Above this σ the target counts as unreachable (Opacus' MAX_SIGMA).</summary>
    public const double MaxNoiseMultiplier = 1e6;

    /// <summary>σ such that <paramref name="steps"/> steps at rate q give ε ≤ target at δ, within the tolerance.</summary>
    /// <param name="targetEpsilon">ε &gt; 0.</param>
    /// <param name="delta">δ in (0, 1).</param>
    /// <param name="samplingRate">q in (0, 1].</param>
    /// <param name="steps">Planned steps, ≥ 1 (Opacus turns epochs into int(epochs / q)).</param>
    /// <param name="epsilonTolerance">How far below the target the answer's ε may be (Opacus: 0.01).</param>
    /// <param name="orders">Rényi orders; null for the defaults.</param>
    public static double NoiseMultiplierFor(double targetEpsilon, double delta, double samplingRate, long steps,
        double epsilonTolerance = 0.01, IReadOnlyList<double>? orders = null)
    {
        PrivacyArguments.RequireEpsilon(targetEpsilon, "target epsilon");
        PrivacyArguments.RequireDelta(delta);
        PrivacyArguments.RequireSamplingRate(samplingRate);
        if (steps < 1) throw new PrivacyException($"planned steps must be >= 1; got {steps}");
        PrivacyArguments.RequireEpsilon(epsilonTolerance, "epsilon tolerance");

        double EpsilonOf(double sigma)
        {
            var accountant = new RdpAccountant(orders);
            accountant.Compose(samplingRate, sigma, steps);
            return accountant.GetEpsilon(delta).Epsilon;
        }

        double sigmaLow = 0, sigmaHigh = 10, epsilonHigh = double.PositiveInfinity;
        while (epsilonHigh > targetEpsilon)
        {
            sigmaHigh *= 2;
            if (sigmaHigh > MaxNoiseMultiplier)
                throw new PrivacyException(
                    $"target epsilon {PrivacyArguments.Format(targetEpsilon)} at delta {PrivacyArguments.Format(delta)} is unreachable " +
                    $"for {steps} steps at q = {PrivacyArguments.Format(samplingRate)}: even sigma = {MaxNoiseMultiplier:0e0} gives " +
                    $"epsilon {PrivacyArguments.Format(EpsilonOf(MaxNoiseMultiplier))}; raise epsilon or delta, or take fewer steps");
            epsilonHigh = EpsilonOf(sigmaHigh);
        }
        // Each halving shrinks the interval by 2; 200 of them reach any double, so the loop cannot spin forever.
        for (int halving = 0; halving < 200 && targetEpsilon - epsilonHigh > epsilonTolerance; halving++)
        {
            double sigma = (sigmaLow + sigmaHigh) / 2;
            double epsilon = EpsilonOf(sigma);
            if (epsilon < targetEpsilon) { sigmaHigh = sigma; epsilonHigh = epsilon; }
            else sigmaLow = sigma;
        }
        return sigmaHigh;
    }
}
