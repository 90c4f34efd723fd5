using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// The seam between local training and the server: turns the reporting clients' <see cref="ClientUpdate"/>s, each on
/// the rank that simulated it, into their element-wise sum on the server (rank 0). The plain implementation
/// (<see cref="PlainUpdateAggregator"/>) sends each update to the server in the clear; secure aggregation plugs in
/// here as quantize (the vector, weight included) -> masked protocol -> dequantized sum, and may abort a round (too
/// few survivors) by returning <see cref="AggregatedUpdate.Abort"/> instead of throwing. docs/federated.md.
/// </summary>
internal interface IUpdateAggregator : IDisposable
{
    /// <summary>Name for the log, e.g. "plain".</summary>
    string Name { get; }

    /// <summary>
    /// Collective over <paramref name="world"/>. <paramref name="local"/> holds this rank's reporting clients' updates in
    /// ascending client order (those of <see cref="RoundPlan.PositionsOf"/> this rank that <see cref="RoundPlan.Reports"/>).
    /// Returns the aggregate on rank 0 and null on every other rank.
    /// </summary>
    AggregatedUpdate? Aggregate(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength);
}
