namespace AllReduceNet.Training.Ledger;

/// <summary>What one peer saw of one round.</summary>
/// <param name="Block">The block it appended.</param>
/// <param name="Submitted">As a verifier: the peers whose updates arrived; null when it verified nothing.</param>
/// <param name="Refusals">Messages of the blocks it refused (tampered, forged, a fork), each naming the block and the sender.</param>
/// <param name="ProposedBlock">True when the appended block came from an aggregator; false when no valid block arrived and the peer appended the empty block.</param>
/// <param name="LocalLoss">This peer's mean local training loss.</param>
/// <param name="TrainSeconds">Local training time.</param>
/// <param name="ProtocolSeconds">Noise, verification, aggregation and block exchange: the ledger's own time.</param>
internal sealed record LedgerRoundOutcome(LedgerBlock Block, int[]? Submitted, IReadOnlyList<string> Refusals, bool ProposedBlock,
    double LocalLoss, double TrainSeconds, double ProtocolSeconds);
