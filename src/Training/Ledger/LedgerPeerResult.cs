using AllReduceNet.Training.Checkpoints;

namespace AllReduceNet.Training.Ledger;

/// <summary>One peer's end of a p2p-ledger run.</summary>
/// <param name="Final">Its model as a checkpoint (completed epochs = the ledger's height).</param>
/// <param name="Height">The round of its last block.</param>
/// <param name="ModelDigest">SHA-256 of its model, hex.</param>
/// <param name="HeadHash">Its last block's hash, hex.</param>
/// <param name="Refusals">Every block it refused, each message naming the block and the sender.</param>
/// <param name="CaughtUp">Blocks it fetched from a neighbour (late start or restart).</param>
/// <param name="FirstRound">The first round it took part in.</param>
/// <param name="Rounds">What it saw of each round it took part in (a block it later rolled back in a fork included).</param>
/// <param name="RolledBack">One line per fork it lost: the round, the peers and both block hashes, the audit file.</param>
internal sealed record LedgerPeerResult(Checkpoint Final, long Height, string ModelDigest, string HeadHash, IReadOnlyList<string> Refusals,
    int CaughtUp, long FirstRound, IReadOnlyList<LedgerRoundOutcome> Rounds, IReadOnlyList<string> RolledBack);
