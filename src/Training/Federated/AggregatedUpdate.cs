namespace AllReduceNet.Training.Federated;

/// <summary>
/// What the server learns from a round: the element-wise sum of the reporting clients' <see cref="ClientUpdate"/>
/// vectors (weighted deltas, then the total weight), or why the round was aborted.
/// </summary>
/// <param name="Sum">P + 1 floats, the last the sum of weights; null when the round was aborted.</param>
/// <param name="Contributors">Clients whose updates are in the sum.</param>
/// <param name="BytesSentPerClient">Mean bytes a participating client sent to the server this round.</param>
/// <param name="AbortReason">Why no sum could be formed (e.g. too few clients survived); null when it was.</param>
internal sealed record AggregatedUpdate(float[]? Sum, int Contributors, double BytesSentPerClient, string? AbortReason)
{
    public bool Aborted => Sum is null;

    /// <summary>Secure aggregation: how many clients completed each protocol stage that ran (U1..U4); null for plain.</summary>
    public int[]? SurvivorsByStage { get; init; }

    /// <summary>Robust aggregation: the clients whose updates the rule rejected (ascending); null for the plain sum.</summary>
    public int[]? Rejected { get; init; }

    /// <summary>Robust aggregation: the clients whose updates the rule down-weighted (clipped, or trimmed in most coordinates).</summary>
    public int[]? DownWeighted { get; init; }

    public static AggregatedUpdate Abort(string reason, double bytesSentPerClient = 0) => new(null, 0, bytesSentPerClient, reason);
}
