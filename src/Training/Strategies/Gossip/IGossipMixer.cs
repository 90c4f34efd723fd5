namespace AllReduceNet.Training.Strategies.Gossip;

/// <summary>One rank's end of the neighbour averaging x_i &lt;- sum_j W_ij x_j, over point-to-point messages only.</summary>
internal interface IGossipMixer : IDisposable
{
    /// <summary>Replaces <paramref name="parameters"/> by this rank's row of W applied to the neighbours' replicas; <paramref name="round"/> counts the mixes of the run (the same sequence on every rank).</summary>
    void Mix(Span<float> parameters, long round);

    /// <summary>Settles every message in flight before the epoch's collective bookkeeping (no request is left pending).</summary>
    void EndEpoch(ReadOnlySpan<float> parameters, long round);

    /// <summary>Counters for the final report (collective: all ranks call it).</summary>
    IReadOnlyList<string> Describe();
}
