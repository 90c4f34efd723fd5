namespace AllReduceNet.Collectives;

/// <summary>
/// How a collective that fails on one rank fails on all of them, on any transport and whatever the algorithm. The
/// failing rank sends every peer an empty message on the <see cref="MessageChannel.Control"/> channel, tagged with
/// the failed call's number; each rank keeps one receive posted there, and every wait inside a collective looks at
/// it a few times a second. So a rank that waits for a message its failed peer will never send (or for a send that
/// peer will never take) is released at once, naming the peer, instead of at its timeout.
/// <para>
/// A failed collective leaves messages in flight that no later call can tell apart, so after one the communicator
/// refuses further collectives with the reason (as NCCL wants a communicator aborted after an error).
/// </para>
/// </summary>
internal sealed unsafe class CollectiveFailures : IDisposable
{
    /// <summary>How often a collective's wait looks for a notice: the bound on how late a rank learns of a peer's failure.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly Communicator _comm;
    private readonly List<Request> _noticesSent = new();
    private Request? _notice;
    private string? _refusal;

    public CollectiveFailures(Communicator comm) => _comm = comm;

    /// <summary>Before a collective: refuses it after an earlier failure, and keeps the notice receive posted.</summary>
    public void BeforeCollective(long callNumber, string operation)
    {
        if (_refusal is null && _notice is { IsCompleted: true } notice)
            _refusal = $"rank {notice.Status.Source} failed in collective call #{CallOf(notice.Status.Tag, callNumber)} on this communicator and told the others";
        if (_refusal is not null)
            throw new CommunicatorAbortedException(_notice is { IsCompleted: true } n ? n.Status.Source : _comm.Rank,
                $"rank {_comm.Rank}: {operation} (call #{callNumber}) refused: {_refusal}. Messages of that call may still be in flight; create a new communicator.", null);
        if (_notice is null && _comm.Size > 1)
            _notice = _comm.Transport.PostReceive(null, 0, Communicator.AnySource, Communicator.AnyTag, MessageChannel.Control, default);
    }

    /// <summary>
    /// During a wait of call <paramref name="callNumber"/>: the exception to fail with when a peer reported a failure
    /// of this call or an earlier one; null otherwise (a notice about a later call waits until this one is over).
    /// </summary>
    public CommunicatorAbortedException? PeerFailure(long callNumber, string operation)
    {
        if (_notice is not { IsCompleted: true } notice) return null;
        long failedCall = CallOf(notice.Status.Tag, callNumber);
        if (failedCall > callNumber) return null;
        int peer = notice.Status.Source;
        return new CommunicatorAbortedException(peer,
            $"rank {_comm.Rank}: {operation} (call #{callNumber}): rank {peer} failed in call #{failedCall} and left it; its own exception names the cause.", null);
    }

    /// <summary>
    /// This rank's collective failed: tell every peer (once), and refuse later collectives. Never throws: the
    /// caller is already failing with the real cause.
    /// </summary>
    public void Notify(long callNumber, string operation, Exception error)
    {
        if (_refusal is not null) return;
        _refusal = $"{operation} (call #{callNumber}) failed here with {error.GetType().Name}: {error.Message}";
        if (error is CommunicatorAbortedException) return;   // caused by a peer's notice, or by an abort every rank sees
        int tag = (int)(callNumber & Communicator.MaxTag);
        for (int peer = 0; peer < _comm.Size; peer++)
        {
            if (peer == _comm.Rank) continue;
            try { _noticesSent.Add(_comm.Transport.PostSend(null, 0, peer, tag, MessageChannel.Control, default, -1)); }
            catch (Exception) { /* an aborted world or finalized MPI: the peers learn of it there */ }
        }
    }

    /// <summary>The full call number a notice's 15-bit tag stands for: the one nearest <paramref name="current"/>.</summary>
    private static long CallOf(int tag, long current)
    {
        long delta = (tag - current) & Communicator.MaxTag;
        if (delta > Communicator.MaxTag / 2) delta -= Communicator.MaxTag + 1;
        return current + delta;
    }

    public void Dispose()
    {
        if (_notice is { IsCompleted: false } pending) pending.TryCancel();
        foreach (var sent in _noticesSent)
            if (!sent.IsCompleted) sent.TryCancel();
    }
}
