namespace AllReduceNet.Training.Ledger;

/// <summary>
/// A block that a peer refuses: a broken hash chain, a fork, a bad signature, roles that are not the sortition's, or
/// a model digest that genesis plus the recorded deltas do not give. The message names the block (round and hash)
/// and the peer it came from.
/// </summary>
internal sealed class LedgerRejectedException : TrainingException
{
    public LedgerRejectedException(long round, string hash, string source, string reason)
        : base($"ledger: refused block {round} ({hash}) from {source}: {reason}")
    {
        Round = round;
        Sender = source;
    }

    /// <summary>The refused block's round.</summary>
    public long Round { get; }

    /// <summary>Who sent it ("peer 3", or a file).</summary>
    public string Sender { get; }
}
