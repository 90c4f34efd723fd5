namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>Where the Gaussian noise of client-level DP is added to the sum of clipped updates.</summary>
internal enum NoisePlacement
{
    /// <summary>The server adds N(0, z_Δ² C²) to the aggregate (it sees the clipped sum before the noise).</summary>
    Server,
    /// <summary>
    /// Each reporting client adds N(0, z_Δ² C² / T) to its own clipped update, so a sum of at least T clients carries
    /// the whole noise and nobody saw it added (composes with --secure-aggregation, as distributed DP does).
    /// </summary>
    Clients,
}
