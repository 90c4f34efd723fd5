using System.Buffers;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>One rank's view of an in-process group. Create worlds with <see cref="InProcessWorld"/>.</summary>
internal sealed unsafe class InProcessCommunicator : Communicator
{
    private readonly int _rank;

    public InProcessCommunicator(InProcessGroup group, int rank)
    {
        Group = group;
        _rank = rank;
        if (group.World.Timeout is { } timeout) DefaultTimeout = timeout;
    }

    internal InProcessGroup Group { get; }

    internal InProcessWorld World => Group.World;

    internal int WorldRank => Group.WorldRanks[_rank];

    public override int Rank => _rank;

    public override int Size => Group.Size;

    public override string TransportName => "in-process";

    private protected override Request PostSend(void* data, long bytes, int destination, int tag, MessageChannel channel, MemoryHandle pin, long collectiveCount)
    {
        World.ThrowIfAborted(WorldRank);
        var send = (channel == MessageChannel.Collective ? RentRequest() : new InProcessRequest(this))
            .Init(isSend: true, (byte*)data, bytes, destination, tag, channel, pin, collectiveCount);
        Group.PostSend(send);
        return send;
    }

    private protected override Request PostReceive(void* data, long capacity, int source, int tag, MessageChannel channel, MemoryHandle pin)
    {
        World.ThrowIfAborted(WorldRank);
        var receive = (channel == MessageChannel.Collective ? RentRequest() : new InProcessRequest(this))
            .Init(isSend: false, (byte*)data, capacity, source, tag, channel, pin, -1);
        Group.PostReceive(receive);
        return receive;
    }

    internal override bool CanReceiveReduce => true;

    internal override IPeerBuffers? PeerBuffers => Group.Board;

    /// <summary>
    /// 128 KiB: measured at 2 ranks (benchmarks/RESULTS.md), 64 to 128 KiB segments keep each step's data in the
    /// cores' caches: a 4 MiB AllReduce took 105 to 120 us with them against 300 to 370 us with 1 MiB segments.
    /// </summary>
    internal override int DefaultSegmentBytes => 128 << 10;

    internal override Request? PostCollectiveReceiveReduce(void* target, long bytes, int source, int tag, delegate*<void*, void*, long, void> reduce)
    {
        World.ThrowIfAborted(WorldRank);
        var receive = RentRequest().Init(isSend: false, (byte*)target, bytes, source, AnyTag, MessageChannel.Collective, default, -1, reduce);
        receive.ReduceTag = tag;
        Group.PostReceive(receive);
        return receive;
    }

    private protected override Communicator? SplitCore(int color, int key)
    {
        // Every rank learns every rank's (color, key); the members of a color then meet at one shared group,
        // registered under this split's call number.
        var call = new CollectiveCall(this, CollectiveKind.Internal, ElementType.Int32, null, 2, null);
        var all = new int[2 * Size];
        all[2 * Rank] = color;
        all[2 * Rank + 1] = key;
        fixed (int* p = all)
            RingPipeline.Run<int, NoOperator<int>>(call, p, new ChunkLayout(all.Length, Size), reduceScatter: false, allGather: true, segmentBytes: 1 << 20);
        if (color < 0) return null;

        var members = Enumerable.Range(0, Size).Where(r => all[2 * r] == color)
            .OrderBy(r => all[2 * r + 1]).ThenBy(r => r).ToArray();
        var group = Group.Splits.GetOrAdd((call.CallNumber, color),
            _ => new InProcessGroup(World, members.Select(r => Group.WorldRanks[r]).ToArray()));
        if (group.Joined() == members.Length) Group.Splits.TryRemove((call.CallNumber, color), out _);
        return new InProcessCommunicator(group, Array.IndexOf(members, Rank)) { DefaultTimeout = DefaultTimeout };
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

    internal override void Recycle(Request? request)
    {
        if (request is not InProcessRequest r || r.Owner != this || r.Channel != MessageChannel.Collective || !r.IsCompleted) return;
        if (r.IsReleased) _free.Push(r);
        else if (_limbo.Count < 1024) _limbo.Add(r);
    }

    internal override void OnCollectiveEntered(long callNumber) => Group.Entered(_rank, callNumber);

    internal override string? DescribeStragglers(long callNumber)
    {
        var behind = Group.RanksBehind(callNumber);
        return behind.Count > 0
            ? $"Ranks that never reached call #{callNumber}: {string.Join(", ", behind)}."
            : $"Every rank reached call #{callNumber}: the ranks may disagree on the count, the root or the algorithm.";
    }

    protected override void DisposeCore() { }
}
