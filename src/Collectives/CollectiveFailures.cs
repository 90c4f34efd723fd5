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
/// <para>
/// In-process, a rank that disposes its communicator sends the same notice for the call it will never make (the next
/// one), so a peer that waits in that call for it (it returned early, or its thread ended) is released too, at once.
/// </para>
/// </summary>
internal sealed unsafe class CollectiveFailures
{
    /// <summary>How often a collective's wait looks for a notice: the bound on how late a rank learns of a peer's failure.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The tag's bit that says the sender left (disposed its communicator) rather than failed; the bits below carry the call number.</summary>
    private const int LeftBit = 1 << 14;
    private const int CallBits = LeftBit - 1;

    private readonly Communicator _comm;
    private readonly List<Request> _noticesSent = new();
    private Request? _notice;
    private string? _refusal;
    private int _refusalRank;

    public CollectiveFailures(Communicator comm) => _comm = comm;

    /// <summary>
    /// Before a collective: refuses it after a failure this rank took part in, and keeps the notice receive posted.
    /// It does not test the notice receive (under MPI each test is a trip through the library, a microsecond on every
    /// small collective): a notice that arrived meanwhile is seen by the first wait that takes longer than a poll.
    /// </summary>
    public void BeforeCollective(long callNumber, string operation)
    {
        if (_refusal is not null)
            throw new CommunicatorAbortedException(_refusalRank,
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
        if (CallOf(notice.Status.Tag, callNumber) > callNumber) return null;
        return new CommunicatorAbortedException(notice.Status.Source,
            $"rank {_comm.Rank}: {operation} (call #{callNumber}): {Describe(notice.Status, callNumber)}.", null);
    }

    private static string Describe(MessageStatus notice, long current)
    {
        long call = CallOf(notice.Tag, current);
        return (notice.Tag & LeftBit) != 0
            ? $"rank {notice.Source} disposed its communicator before call #{call} (it returned, or its thread ended, without making it)"
            : $"rank {notice.Source} failed in call #{call} and left it; its own exception names the cause";
    }

    /// <summary>
    /// This rank's collective failed: tell every peer (once), and refuse later collectives. Never throws: the
    /// caller is already failing with the real cause.
    /// </summary>
    public void Notify(long callNumber, string operation, Exception error)
    {
        if (_refusal is not null) return;
        _refusal = $"{operation} (call #{callNumber}) failed here with {error.GetType().Name}: {error.Message}";
        _refusalRank = error is CommunicatorAbortedException aborted ? aborted.FailedRank : _comm.Rank;
        if (error is CommunicatorAbortedException) return;   // caused by a peer's notice, or by an abort every rank sees
        Send(callNumber, left: false);
    }

    private void Send(long callNumber, bool left)
    {
        int tag = (int)(callNumber & CallBits) | (left ? LeftBit : 0);
        for (int peer = 0; peer < _comm.Size; peer++)
        {
            if (peer == _comm.Rank) continue;
            try { _noticesSent.Add(_comm.Transport.PostSend(null, 0, peer, tag, MessageChannel.Control, default, -1)); }
            catch (Exception) { /* an aborted world or finalized MPI: the peers learn of it there */ }
        }
    }

    /// <summary>The full call number a notice's 14 call bits stand for: the one nearest <paramref name="current"/>.</summary>
    private static long CallOf(int tag, long current)
    {
        long delta = (tag - current) & CallBits;
        if (delta > CallBits / 2) delta -= CallBits + 1;
        return current + delta;
    }

    /// <summary>The communicator is being disposed after <paramref name="calls"/> collectives: peers still to make call <paramref name="calls"/> + 1 will wait for this rank in vain.</summary>
    public void Dispose(long calls)
    {
        if (_refusal is null && _comm.Size > 1 && _comm.Transport.NotifiesPeersOnDispose) Send(calls + 1, left: true);
        if (_notice is { IsCompleted: false } pending) pending.TryCancel();
        // Notices sent stay where they are: empty, unbuffered, and what a peer still waiting needs to hear. Asking
        // whether each completed lets an MPI library finish those it sent eagerly.
        foreach (var sent in _noticesSent) _ = sent.IsCompleted;
    }
}
