using AllReduceNet.Collectives.Diagnostics;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives;

/// <summary>
/// One collective call as its algorithm sees it, and the only thing an algorithm sees: rank, size, the signature tag,
/// one deadline for all its waits, working memory, and the primitives (in NCCL's vocabulary) that move its bytes:
/// <list type="bullet">
/// <item><see cref="Send"/> and <see cref="Receive"/> post a transfer; <see cref="WaitSend"/> and
/// <see cref="WaitReceive"/> finish it, checking that the peer called the same collective with the same count.</item>
/// <item><see cref="PostReceiveReduce{T, TOp}"/> and <see cref="FinishReceiveReduce{T, TOp}"/>: receive and reduce
/// into the target. Where the transport can read the sender's memory it reduces straight from it; elsewhere the
/// primitive receives into a scratch slot and reduces when the receive is finished. One code path for the algorithm.</item>
/// <item><see cref="Direct"/>: the capability of reading the peers' buffers directly (ranks in one address space).</item>
/// </list>
/// Every wait also looks for a peer's failure notice (<see cref="CollectiveFailures"/>), so no rank waits out its
/// timeout for a peer that has left the call.
/// </summary>
internal readonly unsafe struct CollectiveCall
{
    private readonly Communicator _comm;
    private readonly ITransport _transport;
    public readonly int Rank;
    public readonly int Size;
    public readonly int Tag;
    public readonly long CallNumber;
    public readonly long Count;
    public readonly CollectiveKind Kind;
    public readonly ElementType Type;
    public readonly Deadline Deadline;
    public readonly TimeSpan Timeout;
    /// <summary>True when the caller named this call's timeout (<see cref="CollectiveOptions.Timeout"/>) rather than taking the communicator's.</summary>
    public readonly bool TimeoutGiven;
    public readonly int SegmentBytes;

    public CollectiveCall(Communicator comm, CollectiveKind kind, ElementType type, ReduceOp? op, long count, CollectiveOptions options)
    {
        comm.ThrowIfDisposed();
        Timeout = options.Timeout ?? comm.DefaultTimeout;
        TimeoutGiven = options.Timeout is not null;
        Deadline = Deadline.After(Timeout);
        comm.WaitForStartedCollectives(Deadline, Timeout);
        _comm = comm;
        _transport = comm.Transport;
        Rank = comm.Rank;
        Size = comm.Size;
        Kind = kind;
        Type = type;
        Count = count;
        SegmentBytes = comm.SegmentBytes(options);
        CallNumber = comm.NextCollectiveCall();
        Tag = CollectiveSignature.Tag(kind, type, op, CallNumber);
        comm.Failures.BeforeCollective(CallNumber, CollectiveSignature.KindName(kind));
        _transport.OnCollectiveEntered(CallNumber);
    }

    public string Operation => CollectiveSignature.KindName(Kind);

    /// <summary>The transport's name, for messages.</summary>
    public string TransportName => _transport.Name;

    // ---- working memory -------------------------------------------------------------------------------------

    /// <summary>The receive slots of the primitives and algorithms (64-byte aligned, kept between calls).</summary>
    public byte* Slots(long bytes) => _comm.Scratch.Get(ScratchMemory.Region.Slots, bytes);

    /// <summary>A second block for an algorithm's own copy of the data (a non-root's partial sums, a ReduceScatter's input).</summary>
    public byte* WorkArea(long bytes) => _comm.Scratch.Get(ScratchMemory.Region.Work, bytes);

    // ---- primitives ------------------------------------------------------------------------------------------

    public Request Send(void* data, long bytes, int peer) =>
        _transport.PostSend(data, bytes, peer, Tag, MessageChannel.Collective, default, Count);

    public Request Receive(void* data, long bytes, int peer) =>
        _transport.PostReceive(data, bytes, peer, Communicator.AnyTag, MessageChannel.Collective, default);

    /// <summary>
    /// Whether <see cref="PostReceiveReduce{T, TOp}"/> reduces straight from the sender (so it needs no slots). Only for
    /// element sizes that are powers of two up to 64 bytes: transports cut a message into pieces (32 KiB blocks
    /// in-process, slots of a multiple of 64 bytes in shared memory) that must hold whole elements.
    /// </summary>
    public bool ReducesOnReceive<T>() where T : unmanaged =>
        _transport.ReducesOnReceive && sizeof(T) <= 64 && (sizeof(T) & (sizeof(T) - 1)) == 0;

    /// <summary>
    /// Posts a receive of <paramref name="length"/> elements from <paramref name="peer"/> to be reduced into
    /// <paramref name="target"/> (target = target op received). <paramref name="slot"/> is scratch for the
    /// received values, used only where the transport cannot reduce from the sender's memory.
    /// </summary>
    public PendingReduce<T> PostReceiveReduce<T, TOp>(T* target, long length, int peer, T* slot)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        long bytes = length * sizeof(T);
        if (ReducesOnReceive<T>())
            return new PendingReduce<T>(
                _transport.PostReceiveReduce(target, bytes, peer, Tag, Reducer<T, TOp>.Pointer)!, target, null, length);
        return new PendingReduce<T>(Receive(slot, bytes, peer), target, slot, length);
    }

    /// <summary>Waits for a <see cref="PostReceiveReduce{T, TOp}"/>, checks it, and reduces from the slot if the transport did not.</summary>
    public void FinishReceiveReduce<T, TOp>(in PendingReduce<T> pending) where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        WaitReceive(pending.Request, pending.Length * sizeof(T));
        if (pending.Slot != null)
        {
            var mine = new Span<T>(pending.Target, (int)pending.Length);
            long reduceStart = Timeline.Now();
            TOp.Apply(mine, new ReadOnlySpan<T>(pending.Slot, (int)pending.Length), mine);
            Timeline.Reduced(reduceStart, pending.Length * sizeof(T));
        }
        Recycle(pending.Request);
    }

    /// <summary>The peers' buffers, where ranks share an address space (the "direct" capability); null elsewhere.</summary>
    public IPeerBuffers? Direct => _transport.PeerBuffers;

    /// <summary>The transport library's own collectives, or null.</summary>
    public INativeCollectives? Native => _transport.Native;

    /// <summary>Hands a finished request back to the transport for reuse, after the algorithm's last look at it.</summary>
    public void Recycle(Request? request) => _transport.Recycle(request);

    /// <summary>After a failure: takes back a request that is still posted, so no transfer touches the buffers later.</summary>
    public static void Withdraw(Request? request)
    {
        if (request is { IsCompleted: false }) request.TryCancel();
    }

    public void WaitSend(Request? request)
    {
        if (request is null) return;
        Await(request, null);
        request.ThrowIfFailed();
    }

    /// <summary>
    /// Waits for a receive and checks that the peer called the same collective with the same count. While it waits,
    /// it also looks at <paramref name="sibling"/>, a receive from another peer posted alongside (the tree's second
    /// child): a mismatched message there is reported even if this one never comes.
    /// </summary>
    public void WaitReceive(Request? request, long expectedBytes, Request? sibling = null)
    {
        if (request is null) return;
        Await(request, sibling);
        var status = request.Status;
        if (status.Tag != Tag) throw SignatureMismatch(status, request.PeerCollectiveCount);
        if (status.ByteCount != expectedBytes)
        {
            long peerCount = request.PeerCollectiveCount;
            var peerText = peerCount >= 0 ? $"rank {status.Source} passed {peerCount} x {ElementTypes.Name(Type)}" : $"rank {status.Source}'s count differs";
            throw CountMismatch($"{peerText} (a message of {status.ByteCount} bytes arrived where {expectedBytes} were expected).");
        }
        request.ThrowIfFailed();
    }

    /// <summary>A message of another signature arrived from <paramref name="status"/>.Source: what each side called, or, between two AllReduce algorithms, the counts that made Auto choose them.</summary>
    private CollectiveMismatchException SignatureMismatch(MessageStatus status, long peerCount)
    {
        if (CollectiveSignature.BothAllReduce(status.Tag, Tag) && peerCount >= 0 && peerCount != Count)
            return CountMismatch(
                $"rank {status.Source} passed {peerCount} x {ElementTypes.Name(Type)}, so Auto (which picks the algorithm by size) chose {CollectiveSignature.KindName(CollectiveSignature.KindOf(status.Tag))} there " +
                $"and {Operation} here.");
        return new CollectiveMismatchException(
            $"rank {Rank}: {Operation} of {Count} x {ElementTypes.Name(Type)} (call #{CallNumber} on this communicator) " +
            $"received from rank {status.Source} a message of {CollectiveSignature.Describe(status.Tag)}, where it expected " +
            $"{CollectiveSignature.Describe(Tag)}: the ranks called different collectives, element types, operators or algorithms at the same point.");
    }

    /// <summary>Waits for <paramref name="request"/> until the call's deadline, looking for peers' failure notices meanwhile.</summary>
    private void Await(Request request, Request? sibling)
    {
        if (request.IsCompleted) return;   // the common case, without reading the clock
        long waitStart = Timeline.Now();
        while (!request.WaitCore(Deadline.Within(CollectiveFailures.PollInterval)))
        {
            if (_comm.Failures.PeerFailure(CallNumber, Operation) is { } failed) throw failed;
            if (StrayMessage() is { } stray) throw stray;
            if (sibling is { IsCompleted: true } && sibling.Status.Tag != Tag) throw SignatureMismatch(sibling.Status, sibling.PeerCollectiveCount);
            if (Deadline.HasPassed) throw TimedOut(request);
        }
        if (Timeline.IsEnabled) Timeline.Waited(CallNumber, waitStart);
    }

    /// <summary>
    /// A message of this call's number but another signature that arrived unasked: its sender called another
    /// collective (or algorithm, type, operator) here. Where each side only waits for the other (a Broadcast's root
    /// sending to a rank whose AllReduce is sending to it), no receive would ever look at it: this does.
    /// </summary>
    private CollectiveMismatchException? StrayMessage()
    {
        Span<MessageStatus> unexpected = stackalloc MessageStatus[8];
        int found = _transport.UnexpectedCollectiveMessages(unexpected);
        foreach (var message in unexpected[..found])
        {
            if (message.Tag != Tag && CollectiveSignature.SameCall(message.Tag, Tag)) return SignatureMismatch(message, -1);
        }
        return null;
    }

    /// <summary>This rank's part of the call failed with <paramref name="error"/>: tell the peers, so they are released too.</summary>
    public void NotifyPeersOfFailure(Exception error) => _comm.Failures.Notify(CallNumber, Operation, error);

    /// <summary>The ranks passed different counts: this rank's count, then <paramref name="peerText"/> on the other rank's.</summary>
    public CollectiveMismatchException CountMismatch(string peerText) => new(
        $"rank {Rank}: {Operation} (call #{CallNumber}): the ranks passed different counts: rank {Rank} passed {Count} x {ElementTypes.Name(Type)}, {peerText}");

    private CommunicationTimeoutException TimedOut(Request request)
    {
        var stragglers = _transport.DescribeStragglers(CallNumber);
        return new CommunicationTimeoutException(
            $"rank {Rank}: {Operation} of {Count} x {ElementTypes.Name(Type)} (call #{CallNumber} on this communicator of {Size} ranks) " +
            $"timed out after {Timeout} waiting for {request.Describe()}." + (stragglers is null ? "" : " " + stragglers));
    }
}

/// <summary>A receive-reduce in flight: the request, where it reduces into, and the slot it received into (null when the transport reduced).</summary>
internal readonly unsafe struct PendingReduce<T>(Request request, T* target, T* slot, long length) where T : unmanaged
{
    public readonly Request Request = request;
    public readonly T* Target = target;
    public readonly T* Slot = slot;
    public readonly long Length = length;
}
