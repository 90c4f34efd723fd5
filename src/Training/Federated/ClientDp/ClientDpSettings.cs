using System.Globalization;

namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>
/// Validated settings of client-level (user-level) DP for federated rounds, DP-FedAvg (McMahan et al. 2018): every
/// reporting client's model delta is clipped to L2 norm C, the clipped deltas are summed unweighted, Gaussian noise
/// of std z_Δ·C is added to the sum, and the noised sum is divided by the fixed expected number of clients per round
/// m (not by the reporting count nor by sample counts, which depend on the data and would leak).
/// </summary>
/// <param name="ClipNorm">C, or the initial C with adaptive clipping.</param>
/// <param name="NoiseMultiplier">z: the noise multiplier the accountant composes for each round (σ/C of one Gaussian
/// release); with adaptive clipping the update sum gets <see cref="UpdateNoiseMultiplier"/> and the clipped count σ_b,
/// which together are one release of multiplier z.</param>
/// <param name="TargetEpsilon">The --client-dp-epsilon z was computed for, or null when z was given.</param>
/// <param name="Delta">δ of every reported ε.</param>
/// <param name="Placement">Who adds the noise.</param>
/// <param name="MinClients">T: with <see cref="NoisePlacement.Clients"/>, each client adds 1/T of the noise variance and a
/// round whose sum holds fewer than T clients is aborted (its noise would fall short).</param>
/// <param name="ExpectedClients">m: the fixed denominator of the mean update (the clients sampled per round).</param>
/// <param name="SamplingRate">q = clients per round / clients: the accountant's sampling rate.</param>
/// <param name="Adaptive">Adaptive clipping, or null for a fixed C.</param>
/// <param name="SecureRandom">Noise from the operating system's CSPRNG (RandomNumberGenerator) instead of the seeded Philox stream.</param>
/// <param name="BudgetEpsilon">--dp-budget: the data set's ε over all runs in the ledger, or null.</param>
/// <param name="DatasetId">The ledger's key of the training data (<see cref="AllReduceNet.Privacy.Accounting.DatasetIdentity"/>).</param>
internal sealed record ClientDpSettings(double ClipNorm, double NoiseMultiplier, double? TargetEpsilon, double Delta, NoisePlacement Placement,
    int MinClients, int ExpectedClients, double SamplingRate, AdaptiveClipping? Adaptive, bool SecureRandom, double? BudgetEpsilon, string DatasetId)
{
    /// <summary>Sensitivity of the sum of centered clipped-count bits b_i − 1/2 under adding or removing one client.</summary>
    public const double CountSensitivity = 0.5;

    /// <summary>
    /// z_Δ, the noise multiplier of the update sum. Fixed clipping: z. Adaptive clipping: the update sum (sensitivity
    /// C, noise z_Δ C) and the centered count (sensitivity 1/2, noise σ_b) released together are one Gaussian release
    /// of multiplier (z_Δ⁻² + (2σ_b)⁻²)^−½ (Andrew et al. 2021, Theorem 1), so z_Δ = (z⁻² − (2σ_b)⁻²)^−½ keeps it at z.
    /// </summary>
    public double UpdateNoiseMultiplier => UpdateNoiseFor(NoiseMultiplier, Adaptive?.CountNoise);

    /// <summary>z_Δ for total multiplier <paramref name="z"/> and count noise <paramref name="countNoise"/> (null: no count released).</summary>
    /// <exception cref="TrainingException">2σ_b ≤ z: the count alone would spend all of the round's privacy.</exception>
    public static double UpdateNoiseFor(double z, double? countNoise)
    {
        if (countNoise is not double sigmaB || z == 0) return z;
        double rest = 1 / (z * z) - 1 / (4 * sigmaB * sigmaB);
        if (!(rest > 0))
            throw new TrainingException(FormattableString.Invariant(
                $"--client-dp-count-noise {sigmaB} is too small for noise multiplier {z:G4}: the clipped count alone would spend the whole round's privacy (needs 2 sigma_b > z, i.e. sigma_b > {z / 2:G4}; the default is clients-per-round/20, as Andrew et al. suggest for large rounds)."));
        return 1 / Math.Sqrt(rest);
    }

    /// <summary>The noise std each client adds to each element of its clipped update (clients placement), at clip norm C.</summary>
    public double ClientUpdateNoiseStd(double clipNorm) => UpdateNoiseMultiplier * clipNorm / Math.Sqrt(MinClients);

    /// <summary>The noise std each client adds to its centered count bit (clients placement, adaptive).</summary>
    public double ClientCountNoiseStd => Adaptive is { } a ? a.CountNoise / Math.Sqrt(MinClients) : 0;

    /// <summary>For the log.</summary>
    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        string clip = Adaptive is null
            ? string.Create(c, $"clip {ClipNorm:G4}")
            : string.Create(c, $"clip adaptive from {ClipNorm:G4} (quantile {Adaptive.TargetQuantile}, clip lr {Adaptive.LearningRate}, count noise {Adaptive.CountNoise:G4})");
        string noise = string.Create(c, $"noise multiplier {NoiseMultiplier:G4}") +
            (TargetEpsilon is double e ? string.Create(c, $" (for epsilon {e} over the planned rounds)") : "") +
            (Adaptive is null ? "" : string.Create(c, $" (update sum {UpdateNoiseMultiplier:G4})"));
        string placement = Placement == NoisePlacement.Server
            ? "noise added by the server"
            : $"noise added by the clients (each 1/{MinClients} of the variance; rounds with fewer than {MinClients} clients in the sum are aborted)";
        return $"client-level DP: {clip}, {noise}, {placement}, " +
            string.Create(c, $"mean over a fixed {ExpectedClients} clients, q {SamplingRate:G4}, delta {Delta:G3}, ") +
            (SecureRandom ? "noise from the OS CSPRNG" : "seeded noise (reproducible; not for deployment)") +
            (BudgetEpsilon is double b ? string.Create(c, $", budget epsilon {b}") : "") + $", data set {DatasetId}";
    }
}
