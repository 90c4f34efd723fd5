using AllReduceNet.Training.Federated.ClientDp;

namespace AllReduceNet.Training.Federated;

/// <summary>What the server reports after a federated round.</summary>
/// <param name="Round">1-based round.</param>
/// <param name="Rounds">Rounds of the run.</param>
/// <param name="Strategy">The strategy's description.</param>
/// <param name="Ranks">World size.</param>
/// <param name="Sampled">Clients sampled this round.</param>
/// <param name="Survived">Clients whose update reached the aggregate.</param>
/// <param name="Loss">Mean local training loss of the reporting clients (over their samples and local epochs).</param>
/// <param name="TestAccuracy">Test accuracy of the global model after the round.</param>
/// <param name="BytesSentPerClient">Mean bytes a participating client sent.</param>
/// <param name="Seconds">Wall time of the round (local training, aggregation, server step; not the evaluation).</param>
/// <param name="AbortReason">Why the round left the model unchanged, or null.</param>
/// <param name="AggregationSeconds">Wall time of the aggregation alone (part of <paramref name="Seconds"/>).</param>
/// <param name="SurvivorsByStage">Secure aggregation: clients that completed each protocol stage that ran; null for plain.</param>
/// <param name="Malicious">--attack: the reporting malicious clients of the round; null without an attack.</param>
/// <param name="Rejected">--aggregator: the clients whose updates the rule rejected; null for the plain sum.</param>
/// <param name="DownWeighted">--aggregator: the clients whose updates the rule down-weighted; null for the plain sum.</param>
internal sealed record RoundReport(int Round, int Rounds, string Strategy, int Ranks, int Sampled, int Survived, double Loss,
    double TestAccuracy, double BytesSentPerClient, double Seconds, string? AbortReason, double AggregationSeconds, int[]? SurvivorsByStage = null,
    int[]? Malicious = null, int[]? Rejected = null, int[]? DownWeighted = null)
{
    /// <summary>Client-level DP: the user-level epsilon after the round and the clip norms; null without --client-dp.</summary>
    public ClientDpRoundReport? ClientDp { get; init; }
}
