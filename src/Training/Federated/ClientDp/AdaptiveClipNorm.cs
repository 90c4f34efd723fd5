namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>
/// The clip norm's update of adaptive clipping (Andrew et al. 2021, Algorithm 1 with the geometric update): each
/// client reports the centered bit b_i − 1/2 with b_i = 1 when its update norm was at most C; the server receives the
/// sum plus N(0, σ_b²), estimates the clipped fraction b̄ = noisySum / m + 1/2 with the fixed expected client count m
/// (so the count of reporting clients is never needed), and sets C ← C · exp(−η_C (b̄ − γ)). At the fixed point
/// b̄ = γ: C sits at the γ-quantile of the update norms. The centered bits have sensitivity 1/2, which is where the
/// (2σ_b)⁻² of <see cref="ClientDpSettings.UpdateNoiseMultiplier"/> comes from.
/// </summary>
internal static class AdaptiveClipNorm
{
    /// <summary>The centered bit a client reports: +1/2 when its update norm is at most the clip norm, else −1/2.</summary>
    public static double CenteredBit(double updateNorm, double clipNorm) => updateNorm <= clipNorm ? 0.5 : -0.5;

    /// <summary>The next clip norm.</summary>
    /// <param name="clipNorm">C of the round that just ended.</param>
    /// <param name="noisyCenteredSum">Σ (b_i − 1/2) + N(0, σ_b²) over the clients in the sum.</param>
    /// <param name="expectedClients">m, the fixed denominator.</param>
    /// <param name="adaptive">γ and η_C.</param>
    /// <param name="maxClipNorm">An upper bound (secure aggregation's element range), or +∞.</param>
    public static double Next(double clipNorm, double noisyCenteredSum, int expectedClients, AdaptiveClipping adaptive, double maxClipNorm)
    {
        double clippedFraction = noisyCenteredSum / expectedClients + 0.5;
        double next = clipNorm * Math.Exp(-adaptive.LearningRate * (clippedFraction - adaptive.TargetQuantile));
        return Math.Min(next, maxClipNorm);
    }
}
