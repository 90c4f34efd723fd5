using System.Buffers;

namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>One rank's end of an in-process group: ranks are threads, messages are handed over in memory. Create worlds with <see cref="InProcessWorld"/>.</summary>
internal sealed unsafe class InProcessTransport : ITransport
{
    private readonly int _rank;

    public InProcessTransport(InProcessGroup group, int rank)
    {
        Group = group;
        _rank = rank;
        DefaultTimeout = group.World.Timeout ?? EnvironmentSettings.Current.DefaultTimeout;
    }

    internal InProcessGroup Group { get; }

    internal InProcessWorld World => Group.World;

    internal int WorldRank => Group.WorldRanks[_rank];

    public int Rank => _rank;

    public int Size => Group.Size;

    public string Name => "in-process";

    public TimeSpan DefaultTimeout { get; set; }

    public Request PostSend(void* data, long bytes, int destination, int tag, MessageChannel channel, MemoryHandle pin, long collectiveCount)
    {
        World.ThrowIfAborted(WorldRank);
        var send = (channel == MessageChannel.Collective ? RentRequest() : new InProcessRequest(this))
            .Init(isSend: true, (byte*)data, bytes, destination, tag, channel, pin, collectiveCount);
        Group.PostSend(send);
        return send;
    }

    public Request PostReceive(void* data, long capacity, int source, int tag, MessageChannel channel, MemoryHandle pin)
    {
        World.ThrowIfAborted(WorldRank);
        var receive = (channel == MessageChannel.Collective ? RentRequest() : new InProcessRequest(this))
            .Init(isSend: false, (byte*)data, capacity, source, tag, channel, pin, -1);
        Group.PostReceive(receive);
        return receive;
    }

    public bool ReducesOnReceive => true;

    public bool NotifiesPeersOnDispose => true;

    public IPeerBuffers? PeerBuffers => Group.Board;

    /// <summary>The simulated nodes (<see cref="InProcessWorldOptions.RanksPerNode"/>) of this group's ranks, renumbered from 0 in rank order.</summary>
    public int[]? NodeOfRank
    {
        get
        {
            if (World.RanksPerNode is not int perNode) return null;
            var worldNodes = Group.WorldRanks.Select(r => r / perNode).ToArray();
            var numbering = worldNodes.Distinct().Select((node, index) => (node, index)).ToDictionary(p => p.node, p => p.index);
            var nodes = worldNodes.Select(n => numbering[n]).ToArray();
            return nodes.Max() == 0 ? null : nodes;
        }
    }

    /// <summary>
    /// 128 KiB: measured at 2 ranks (benchmarks/RESULTS.md), 64 to 128 KiB segments keep each step's data in the
    /// cores' caches: a 4 MiB AllReduce took 105 to 120 us with them against 300 to 370 us with 1 MiB segments.
    /// </summary>
    public int DefaultSegmentBytes => 128 << 10;

    public Request? PostReceiveReduce(void* target, long bytes, int source, int tag, delegate*<void*, void*, long, void> reduce)
    {
        World.ThrowIfAborted(WorldRank);
        var receive = RentRequest().Init(isSend: false, (byte*)target, bytes, source, Communicator.AnyTag, MessageChannel.Collective, default, -1, reduce);
        receive.ReduceTag = tag;
        Group.PostReceive(receive);
        return receive;
    }

    public bool LendsUserSends => true;

    public Request? PostUserSendLent(void* data, long bytes, int destination, int tag, MemoryHandle pin)
    {
        World.ThrowIfAborted(WorldRank);
        var send = new InProcessRequest(this).Init(isSend: true, (byte*)data, bytes, destination, tag, MessageChannel.User, pin, -1);
        send.Lends = true;
        Group.PostSend(send);
        return send;
    }

    public IReceiveLoan? PostUserReceiveLoan(long bytes, int source, int tag)
    {
        World.ThrowIfAborted(WorldRank);
        var receive = new InProcessRequest(this).Init(isSend: false, null, bytes, source, tag, MessageChannel.User, default, -1);
        receive.Borrows = true;
        Group.PostReceive(receive);
        return receive;
    }

    public int UnexpectedCollectiveMessages(Span<MessageStatus> into) => Group.UnexpectedCollectiveMessages(_rank, into);

    /// <summary>The members of one new group meet at one shared <see cref="InProcessGroup"/>, registered under the split's number and its first member.</summary>
    public ITransport? CreateGroup(int[]? members, long groupId)
    {
        if (members is null) return null;
        var group = Group.Splits.GetOrAdd((groupId, members[0]),
            _ => new InProcessGroup(World, members.Select(r => Group.WorldRanks[r]).ToArray()));
        if (group.Joined() == members.Length) Group.Splits.TryRemove((groupId, members[0]), out _);
        return new InProcessTransport(group, Array.IndexOf(members, Rank)) { DefaultTimeout = DefaultTimeout };
    }
    // Collective requests are pooled (collectives of one communicator run one at a time), so a steady stream of
    // collectives allocates nothing. A request returned while its transfer may still touch it (an eager send not
    // yet taken) waits in limbo until it is released.
    private readonly Stack<InProcessRequest> _free = new();
    private readonly List<InProcessRequest> _limbo = new();

    private InProcessRequest RentRequest()
    {
        if (_free.Count == 0)
        {
            for (int i = _limbo.Count - 1; i >= 0; i--)
            {
                if (!_limbo[i].IsReleased) continue;
                _free.Push(_limbo[i]);
                _limbo.RemoveAt(i);
            }
        }
        return _free.Count > 0 ? _free.Pop() : new InProcessRequest(this);
    }

    public void Recycle(Request? request)
    {
        if (request is not InProcessRequest r || r.Owner != this || r.Channel != MessageChannel.Collective || !r.IsCompleted) return;
        if (r.IsReleased) _free.Push(r);
        else if (_limbo.Count < 1024) _limbo.Add(r);
    }

    public void OnCollectiveEntered(long callNumber) => Group.Entered(_rank, callNumber);

    public string? DescribeStragglers(long callNumber)
    {
        var behind = Group.RanksBehind(callNumber);
        return behind.Count > 0
            ? $"Ranks that never reached call #{callNumber}: {string.Join(", ", behind)}."
            : $"Every rank reached call #{callNumber}: the ranks may disagree on the count, the root or the algorithm.";
    }

    public void Dispose() { }
}
