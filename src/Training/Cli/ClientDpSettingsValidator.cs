using System.Globalization;
using AllReduceNet.Privacy;
using AllReduceNet.Privacy.Accounting;
using AllReduceNet.Training.Federated;
using AllReduceNet.Training.Federated.ClientDp;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// The --client-dp options (and --dp-budget for the federated strategies), checked before any rank starts: each
/// refusal names the option and the value. --client-dp-epsilon is turned into a noise multiplier here, once, for the
/// planned rounds (<see cref="NoiseCalibration"/>, Opacus' get_noise_multiplier).
/// </summary>
internal static class ClientDpSettingsValidator
{
    public const double DefaultClip = 1;
    public const double DefaultAdaptiveClip = 0.1;
    public const double DefaultDelta = 1e-5;
    public const double DefaultQuantile = 0.5;
    public const double DefaultClipLearningRate = 0.2;

    /// <returns>The settings, or null without --client-dp.</returns>
    /// <exception cref="TrainingException">An option is out of range, given without --client-dp or --client-dp-adaptive, or contradicts another.</exception>
    public static ClientDpSettings? Validate(TrainOptions options, int clients, int perRound, int rounds, SecureAggregationOptions? secure)
    {
        if (!options.ClientDp)
        {
            foreach (var (name, given) in new (string, bool)[]
            {
                ("--client-dp-clip", options.ClientDpClip is not null), ("--client-dp-noise", options.ClientDpNoise is not null),
                ("--client-dp-epsilon", options.ClientDpEpsilon is not null), ("--client-dp-delta", options.ClientDpDelta is not null),
                ("--client-dp-noise-at", options.ClientDpNoiseAt is not null), ("--client-dp-min-clients", options.ClientDpMinClients is not null),
                ("--client-dp-adaptive", options.ClientDpAdaptive), ("--client-dp-secure-rng", options.ClientDpSecureRng),
                ("--dp-budget", options.DpBudget is not null && !options.Dp),
            })
                if (given) throw new TrainingException($"{name} applies with --client-dp only (for federated strategies).");
            CheckAdaptiveOptionsAbsent(options);
            return null;
        }

        bool adaptive = options.ClientDpAdaptive;
        double clip = options.ClientDpClip ?? (adaptive ? DefaultAdaptiveClip : DefaultClip);
        if (!(clip > 0 && double.IsFinite(clip))) throw new TrainingException($"--client-dp-clip must be a finite number > 0, but was {Format(clip)}.");
        if (options.ClientDpNoise is null == options.ClientDpEpsilon is null)
            throw new TrainingException("--client-dp needs exactly one of --client-dp-noise Z and --client-dp-epsilon EPS.");
        if (options.ClientDpNoise is double z && !(z >= 0 && double.IsFinite(z)))
            throw new TrainingException($"--client-dp-noise must be a finite number >= 0, but was {Format(z)}.");
        if (options.ClientDpEpsilon is double eps && !(eps > 0 && double.IsFinite(eps)))
            throw new TrainingException($"--client-dp-epsilon must be a finite number > 0, but was {Format(eps)}.");
        double delta = options.ClientDpDelta ?? DefaultDelta;
        if (!(delta > 0 && delta < 1)) throw new TrainingException($"--client-dp-delta must be in (0, 1), but was {Format(delta)}.");
        if (options.DpBudget is double budget && !(budget > 0 && double.IsFinite(budget)))
            throw new TrainingException($"--dp-budget must be a finite number > 0, but was {Format(budget)}.");
        if (options.DpBudget is not null && options.NoCheckpoint)
            throw new TrainingException("--dp-budget needs the privacy ledger, which lives beside the checkpoint: drop --no-checkpoint.");

        var placement = (options.ClientDpNoiseAt ?? "server").Trim().ToLowerInvariant() switch
        {
            "server" => NoisePlacement.Server,
            "clients" => NoisePlacement.Clients,
            var other => throw new TrainingException($"--client-dp-noise-at must be server or clients, but was '{other}'."),
        };
        if (placement == NoisePlacement.Server && options.ClientDpMinClients is not null)
            throw new TrainingException("--client-dp-min-clients applies with --client-dp-noise-at clients only.");
        int minClients = options.ClientDpMinClients ?? (secure is not null ? secure.ThresholdFor(perRound) : perRound);
        if (minClients < 1 || minClients > perRound)
            throw new TrainingException($"--client-dp-min-clients must be in 1..{perRound} (--clients-per-round), but was {minClients}.");

        AdaptiveClipping? adaptiveClipping = null;
        if (adaptive)
        {
            double quantile = options.ClientDpQuantile ?? DefaultQuantile;
            if (!(quantile > 0 && quantile < 1)) throw new TrainingException($"--client-dp-quantile must be in (0, 1), but was {Format(quantile)}.");
            double rate = options.ClientDpClipLr ?? DefaultClipLearningRate;
            if (!(rate > 0 && double.IsFinite(rate))) throw new TrainingException($"--client-dp-clip-lr must be a finite number > 0, but was {Format(rate)}.");
            double countNoise = options.ClientDpCountNoise ?? perRound / 20.0;
            if (!(countNoise > 0 && double.IsFinite(countNoise))) throw new TrainingException($"--client-dp-count-noise must be a finite number > 0, but was {Format(countNoise)}.");
            adaptiveClipping = new AdaptiveClipping(quantile, rate, countNoise);
        }
        else CheckAdaptiveOptionsAbsent(options);

        double q = (double)perRound / clients;
        double noise;
        try
        {
            noise = options.ClientDpNoise ?? NoiseCalibration.NoiseMultiplierFor(options.ClientDpEpsilon!.Value, delta, q, rounds);
        }
        catch (PrivacyException e)
        {
            throw new TrainingException($"--client-dp-epsilon {Format(options.ClientDpEpsilon!.Value)} over {rounds} rounds at q {Format(q)}: {e.Message}");
        }
        if (adaptiveClipping is not null && noise == 0)
            throw new TrainingException("--client-dp-adaptive needs noise (--client-dp-noise > 0): the clipped count would be released in the clear.");
        var settings = new ClientDpSettings(clip, noise, options.ClientDpEpsilon, delta, placement, minClients, perRound, q, adaptiveClipping,
            options.ClientDpSecureRng, options.DpBudget, DatasetId(options));
        _ = settings.UpdateNoiseMultiplier;   // refuses sigma_b <= z / 2
        if (secure is not null) CheckSecureRange(settings, secure);
        return settings;
    }

    /// <summary>
    /// Secure aggregation clamps each element to ±--secagg-clip (times the weight, 1 here) before quantizing: the
    /// clipped update with its noise share must fit with 8 stds to spare, or the clamp would cut the noise that the
    /// accountant counts on (the count bit is scaled down to fit: <see cref="ClientDpAggregator.CountScale"/>).
    /// </summary>
    private static void CheckSecureRange(ClientDpSettings settings, SecureAggregationOptions secure)
    {
        double maxClip = ClientDpAggregator.MaxClipNorm(settings, secure.DeltaClip);
        if (settings.Adaptive is null && settings.ClipNorm > maxClip)
        {
            double share = settings.Placement == NoisePlacement.Clients ? settings.UpdateNoiseMultiplier / Math.Sqrt(settings.MinClients) : 0;
            throw new TrainingException(string.Create(CultureInfo.InvariantCulture,
                $"--client-dp-clip {settings.ClipNorm:G4} with --secure-aggregation: every element of a clipped update plus {ClientDpAggregator.ClampMarginStds} stds of its noise share must stay within --secagg-clip {secure.DeltaClip}, which allows a clip norm of at most {maxClip:G4}; use --secagg-clip {settings.ClipNorm * (1 + ClientDpAggregator.ClampMarginStds * share):G4} or more."));
        }
    }

    /// <summary>Refuses --client-dp and its options with a strategy that is not federated (--dp-budget belongs to DP-SGD there).</summary>
    public static void RefuseOutsideFederated(TrainOptions options)
    {
        if (options.ClientDp) throw new TrainingException("--client-dp applies to the federated strategies only (--strategy fedavg, fedprox or fedavgm).");
        foreach (var (name, given) in new (string, bool)[]
        {
            ("--client-dp-clip", options.ClientDpClip is not null), ("--client-dp-noise", options.ClientDpNoise is not null),
            ("--client-dp-epsilon", options.ClientDpEpsilon is not null), ("--client-dp-delta", options.ClientDpDelta is not null),
            ("--client-dp-noise-at", options.ClientDpNoiseAt is not null), ("--client-dp-min-clients", options.ClientDpMinClients is not null),
            ("--client-dp-adaptive", options.ClientDpAdaptive), ("--client-dp-secure-rng", options.ClientDpSecureRng),
        })
            if (given) throw new TrainingException($"{name} applies with --client-dp to the federated strategies only (--strategy fedavg, fedprox or fedavgm).");
        CheckAdaptiveOptionsAbsent(options);
    }

    private static void CheckAdaptiveOptionsAbsent(TrainOptions options)
    {
        foreach (var (name, given) in new (string, bool)[]
        {
            ("--client-dp-quantile", options.ClientDpQuantile is not null), ("--client-dp-clip-lr", options.ClientDpClipLr is not null),
            ("--client-dp-count-noise", options.ClientDpCountNoise is not null),
        })
            if (given) throw new TrainingException($"{name} applies with --client-dp-adaptive only.");
    }

    /// <summary>The ledger's key of the training data: Fashion-MNIST's training files hashed, or the synthetic recipe.</summary>
    private static string DatasetId(TrainOptions options)
    {
        if (options.Synthetic is int samples)
            return string.Create(CultureInfo.InvariantCulture, $"synthetic:{samples}:layers-{options.Layers.Replace(',', '-')}:seed-{options.Seed}");
        string directory = options.Data ?? Data.FashionMnist.DefaultDirectory;
        string[] files = [Path.Combine(directory, "train-images-idx3-ubyte.gz"), Path.Combine(directory, "train-labels-idx1-ubyte.gz")];
        // Missing files: loading the data refuses them next, with the install hint.
        if (!files.All(File.Exists)) return "fashion-mnist:missing";
        try { return DatasetIdentity.Compute("fashion-mnist", files); }
        catch (PrivacyException e) { throw new TrainingException(e.Message); }
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
