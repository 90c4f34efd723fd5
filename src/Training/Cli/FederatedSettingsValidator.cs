using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// The federated strategies' part of <see cref="SettingsValidator"/>: checks --clients, --clients-per-round,
/// --partition, --local-epochs, --local-batch, --mu, --server-lr, --server-momentum, --dropout and --rounds, and
/// refuses them with the other strategies. Each problem names the option, the value and what would be accepted.
/// </summary>
internal static class FederatedSettingsValidator
{
    public const int DefaultRounds = 10;
    public const int DefaultClients = 100;
    public const int DefaultClientsPerRound = 10;
    public const int DefaultLocalBatch = 32;
    public const float DefaultMu = 0.01f;
    public const float DefaultServerMomentum = 0.9f;

    /// <returns>The federated settings, or null when <paramref name="strategy"/> is not federated.</returns>
    public static FederatedSettings? Validate(TrainOptions options, StrategyKind strategy)
    {
        FederatedAlgorithm? algorithm = strategy switch
        {
            StrategyKind.FedAvg => FederatedAlgorithm.FedAvg,
            StrategyKind.FedProx => FederatedAlgorithm.FedProx,
            StrategyKind.FedAvgM => FederatedAlgorithm.FedAvgM,
            // p2p-ledger peers train locally as fedavg clients do (one client per peer; Ledger/).
            StrategyKind.P2PLedger => FederatedAlgorithm.FedAvg,
            _ => null,
        };
        if (algorithm is not FederatedAlgorithm federated)
        {
            foreach (var (name, given) in new (string, bool)[]
            {
                ("--rounds", options.Rounds is not null), ("--clients", options.Clients is not null),
                ("--clients-per-round", options.ClientsPerRound is not null), ("--partition", options.Partition is not null),
                ("--local-epochs", options.LocalEpochs is not null), ("--local-batch", options.LocalBatch is not null),
                ("--mu", options.Mu is not null), ("--server-lr", options.ServerLr is not null),
                ("--server-momentum", options.ServerMomentum is not null), ("--dropout", options.Dropout is not null),
                ("--secure-aggregation", options.SecureAggregation),
            }.Concat(RobustSettingsValidator.Options(options, strategy)))
                if (given) throw new TrainingException($"{name} applies to the federated strategies only (--strategy fedavg, fedprox or fedavgm).");
            ClientDpSettingsValidator.RefuseOutsideFederated(options);
            return null;
        }

        int rounds = options.Rounds ?? DefaultRounds;
        if (rounds < 1) throw new TrainingException($"--rounds must be at least 1, but was {rounds}.");
        int clients = options.Clients ?? DefaultClients;
        if (clients < 1) throw new TrainingException($"--clients must be at least 1, but was {clients}.");
        int perRound = options.ClientsPerRound ?? Math.Min(DefaultClientsPerRound, clients);
        if (perRound < 1) throw new TrainingException($"--clients-per-round must be at least 1, but was {perRound}.");
        if (perRound > clients) throw new TrainingException($"--clients-per-round {perRound} exceeds --clients {clients}: clients are sampled without replacement.");
        var partition = PartitionSpec.Parse(options.Partition ?? "iid");
        int localEpochs = options.LocalEpochs ?? 1;
        if (localEpochs < 1) throw new TrainingException($"--local-epochs must be at least 1, but was {localEpochs}.");
        int localBatch = options.LocalBatch ?? DefaultLocalBatch;
        if (localBatch < 1) throw new TrainingException($"--local-batch must be at least 1, but was {localBatch}.");

        if (options.Mu is not null && federated != FederatedAlgorithm.FedProx)
            throw new TrainingException("--mu applies to --strategy fedprox only.");
        float mu = federated == FederatedAlgorithm.FedProx ? options.Mu ?? DefaultMu : 0f;
        if (federated == FederatedAlgorithm.FedProx && !(mu > 0 && float.IsFinite(mu)))
            throw new TrainingException($"--mu must be positive for fedprox (0 is plain fedavg), but was {mu}.");

        if (options.ServerMomentum is not null && federated != FederatedAlgorithm.FedAvgM)
            throw new TrainingException("--server-momentum applies to --strategy fedavgm only.");
        float serverMomentum = federated == FederatedAlgorithm.FedAvgM ? options.ServerMomentum ?? DefaultServerMomentum : 0f;
        if (federated == FederatedAlgorithm.FedAvgM && !(serverMomentum > 0 && serverMomentum < 1))
            throw new TrainingException($"--server-momentum must be in (0, 1) for fedavgm, but was {serverMomentum}.");
        float serverLr = options.ServerLr ?? 1f;
        if (!(serverLr > 0 && float.IsFinite(serverLr))) throw new TrainingException($"--server-lr must be positive, but was {serverLr}.");
        double dropout = options.Dropout ?? 0;
        if (!(dropout >= 0 && dropout < 1)) throw new TrainingException($"--dropout must be in [0, 1), but was {dropout}.");

        var secure = ValidateSecureAggregation(options, perRound);
        var clientDp = ClientDpSettingsValidator.Validate(options, clients, perRound, rounds, secure);
        var robust = RobustSettingsValidator.Validate(options, clients, perRound);
        // The DP noise is calibrated to a sum of clipped updates (sensitivity C per client); a robust rule replaces that
        // sum by a median or a selection, whose sensitivity this accountant does not model.
        if (clientDp is not null && robust?.Rule is { } rule)
            throw new TrainingException($"--client-dp cannot be combined with --aggregator {rule.Name}: the noise is calibrated to the sum of clipped updates, which the rule replaces; use --aggregator mean (--client-dp's clipping already bounds each client).");
        return new FederatedSettings(federated, clients, perRound, partition, localEpochs, localBatch, mu, serverLr, serverMomentum, dropout)
        {
            SecureAggregation = secure,
            ClientDp = clientDp,
            Robust = robust,
        };
    }

    /// <summary>The --secagg-* options; refused without --secure-aggregation. The overflow check needs the largest
    /// client's sample count, so it is made when the run starts (<see cref="SecureAggregationOptions.CreateSettings"/>).</summary>
    private static SecureAggregationOptions? ValidateSecureAggregation(TrainOptions options, int perRound)
    {
        if (!options.SecureAggregation)
        {
            foreach (var (name, given) in new (string, bool)[]
            {
                ("--secagg-neighbors", options.SecAggNeighbors is not null), ("--secagg-threshold", options.SecAggThreshold is not null),
                ("--secagg-clip", options.SecAggClip is not null), ("--secagg-bits", options.SecAggBits is not null),
                ("--secagg-unmask-dropout", options.SecAggUnmaskDropout is not null),
            })
                if (given) throw new TrainingException($"{name} applies with --secure-aggregation only.");
            return null;
        }
        if (perRound < 2) throw new TrainingException($"--secure-aggregation needs at least 2 clients per round (Shamir threshold at least 2), but --clients-per-round is {perRound}.");
        int? neighbors = options.SecAggNeighbors switch
        {
            null or 0 => null,
            < 0 or 1 => throw new TrainingException($"--secagg-neighbors must be 0 (full SecAgg) or at least 2, but was {options.SecAggNeighbors}."),
            int k => k,
        };
        float clip = options.SecAggClip ?? SecureAggregationOptions.DefaultDeltaClip;
        if (!(clip > 0 && float.IsFinite(clip))) throw new TrainingException($"--secagg-clip must be finite and positive, but was {clip}.");
        if (options.SecAggBits is < 0 or > 30) throw new TrainingException($"--secagg-bits must be in 0..30, but was {options.SecAggBits}.");
        double unmaskDropout = options.SecAggUnmaskDropout ?? 0;
        if (!(unmaskDropout >= 0 && unmaskDropout < 1)) throw new TrainingException($"--secagg-unmask-dropout must be in [0, 1), but was {unmaskDropout}.");
        var secure = new SecureAggregationOptions(neighbors, options.SecAggThreshold, clip, options.SecAggBits, unmaskDropout);
        int threshold = secure.ThresholdFor(perRound);
        int group = secure.GroupSize(perRound);
        if (threshold > group)
            throw new TrainingException($"--secagg-threshold {threshold} exceeds the {group} clients that hold shares of each secret ({(neighbors is null ? "--clients-per-round" : "--secagg-neighbors + 1")}): no round could complete.");
        if (2 * threshold <= group)
            throw new TrainingException($"--secagg-threshold {threshold} is not more than half of the {group} share holders: a lying server could unmask a client. Use at least {group / 2 + 1}.");
        return secure;
    }
}
