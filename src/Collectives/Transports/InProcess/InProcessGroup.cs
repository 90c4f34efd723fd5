using System.Collections.Concurrent;

namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>
/// What the ranks of one in-process communicator share: a mailbox per rank, the number of the last collective each
/// rank entered (to name the ranks that never arrived when a collective times out), and the groups split from it.
/// </summary>
internal sealed class InProcessGroup
{
    private readonly Mailbox[] _mailboxes;
    private readonly long[] _enteredCalls;

    public InProcessGroup(InProcessWorld world, int[] worldRanks)
    {
        World = world;
        WorldRanks = worldRanks;
        _mailboxes = new Mailbox[worldRanks.Length];
        for (int i = 0; i < _mailboxes.Length; i++) _mailboxes[i] = new Mailbox();
        _enteredCalls = new long[worldRanks.Length];
        Board = new PeerBufferBoard(worldRanks.Length, this);
    }

    /// <summary>Where the ranks put up their buffers for the direct AllReduce.</summary>
    public PeerBufferBoard Board { get; }

    public InProcessWorld World { get; }

    /// <summary>Group rank to world rank.</summary>
    public int[] WorldRanks { get; }

    public int Size => WorldRanks.Length;

    /// <summary>Groups created by Split, keyed by the split's call number and color, so all members find the same one.</summary>
    public ConcurrentDictionary<(long Call, int Color), InProcessGroup> Splits { get; } = new();

    public void PostSend(InProcessRequest send) => _mailboxes[send.Peer].PostSend(send);

    public void PostReceive(InProcessRequest receive) => _mailboxes[receive.Owner.Rank].PostReceive(receive);

    public int UnexpectedCollectiveMessages(int rank, Span<MessageStatus> into) => _mailboxes[rank].UnexpectedCollectiveMessages(into);

    public bool TryWithdraw(InProcessRequest request) =>
        _mailboxes[request.IsSend ? request.Peer : request.Owner.Rank].TryWithdraw(request);

    private int _joined;

    /// <summary>Counts the members that took their communicator from a split; the last one unregisters the group.</summary>
    public int Joined() => Interlocked.Increment(ref _joined);

    public void Entered(int rank, long call) => Volatile.Write(ref _enteredCalls[rank], call);

    /// <summary>The ranks that have not yet entered collective number <paramref name="call"/>.</summary>
    public List<int> RanksBehind(long call)
    {
        var behind = new List<int>();
        for (int r = 0; r < _enteredCalls.Length; r++)
            if (Volatile.Read(ref _enteredCalls[r]) < call) behind.Add(r);
        return behind;
    }
}
