namespace AllReduceNet.Training.Federated;

/// <summary>
/// Validated settings of a federated run (see <see cref="Cli.TrainOptions"/> for each option). The round count is
/// <see cref="Cli.TrainSettings.Epochs"/>: a checkpoint's completed epochs are completed rounds.
/// </summary>
/// <param name="Algorithm">fedavg, fedprox or fedavgm.</param>
/// <param name="Clients">Simulated clients in the population.</param>
/// <param name="ClientsPerRound">Clients sampled (without replacement, seeded) each round.</param>
/// <param name="Partition">How the training set is cut into client datasets.</param>
/// <param name="LocalEpochs">Passes over its own data a sampled client makes each round.</param>
/// <param name="LocalBatch">A client's mini-batch size (its last batch of an epoch may be smaller).</param>
/// <param name="ProximalMu">fedprox: the weight mu of the proximal term (mu/2)||w - w_global||^2; 0 otherwise.</param>
/// <param name="ServerLearningRate">Scales the aggregated update before the server applies it (1: plain FedAvg).</param>
/// <param name="ServerMomentum">fedavgm: the server's momentum on the aggregated update; 0 otherwise.</param>
/// <param name="Dropout">Probability that a sampled client fails to report its update (seeded per round and client).</param>
internal sealed record FederatedSettings(FederatedAlgorithm Algorithm, int Clients, int ClientsPerRound, PartitionSpec Partition,
    int LocalEpochs, int LocalBatch, float ProximalMu, float ServerLearningRate, float ServerMomentum, double Dropout)
{
    /// <summary>Secure aggregation (--secure-aggregation) in place of the plain sum, or null.</summary>
    public SecureAggregationOptions? SecureAggregation { get; init; }

    /// <summary>Client-level DP (--client-dp), or null.</summary>
    public ClientDp.ClientDpSettings? ClientDp { get; init; }

    /// <summary>Robust aggregation, attack simulation and secure groups (--aggregator, --attack, --secure-groups), or null.</summary>
    public RobustSettings? Robust { get; init; }

    /// <summary>How the log names the run, e.g. "fedavg (100 clients, 10 per round, iid)".</summary>
    public string Describe() =>
        $"{Algorithm.ToString().ToLowerInvariant()} ({Clients} clients, {ClientsPerRound} per round, partition {Partition}, local epochs {LocalEpochs}, local batch {LocalBatch}" +
        (Algorithm == FederatedAlgorithm.FedProx ? $", mu {ProximalMu}" : "") +
        (Algorithm == FederatedAlgorithm.FedAvgM ? $", server momentum {ServerMomentum}" : "") +
        (ServerLearningRate != 1f ? $", server lr {ServerLearningRate}" : "") +
        (Dropout > 0 ? $", dropout {Dropout}" : "") + (SecureAggregation is { } secure ? ", " + secure.Describe() : "") +
        (Robust is { } robust ? ", " + robust.Describe() : "") + ")";
}
