namespace AllReduceNet.Training.Ledger;

/// <summary>The message exchanges of one ledger round, in order; each has its own tag per round (<see cref="PeerExchange"/>).</summary>
internal enum LedgerPhase
{
    /// <summary>Noisers send each peer a noise seed.</summary>
    Noise = 0,
    /// <summary>Peers send their (noised) update and its digest to the verifiers.</summary>
    Submit = 1,
    /// <summary>Verifiers send every peer the accepted set and their signature over it.</summary>
    Verdict = 2,
    /// <summary>Accepted peers send each aggregator its Shamir share.</summary>
    Share = 3,
    /// <summary>Aggregators send each other their summed shares.</summary>
    Partial = 4,
    /// <summary>Aggregators send every peer the block they built.</summary>
    Block = 5,
    /// <summary>After appending, every peer sends every peer the hashes of its chain (fork detection).</summary>
    Heads = 6,
    /// <summary>Peers whose chains differ send each other their blocks after the common ancestor (fork resolution).</summary>
    Branch = 7,
}
