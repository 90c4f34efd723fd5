namespace AllReduceNet.Collectives;

/// <summary>
/// One collective call as its algorithm sees it: rank, size, the signature tag, one deadline for all its waits, and
/// checked sends and receives. Every receive knows how many bytes it expects and which signature, so a mismatch
/// between ranks is reported with both sides named, at no extra message.
/// </summary>
internal readonly unsafe struct CollectiveCall
{
    public readonly Communicator Comm;
    public readonly int Rank;
    public readonly int Size;
    public readonly int Tag;
    public readonly long CallNumber;
    public readonly long Count;
    public readonly CollectiveKind Kind;
    public readonly ElementType Type;
    public readonly Deadline Deadline;
    public readonly TimeSpan Timeout;

    public CollectiveCall(Communicator comm, CollectiveKind kind, ElementType type, ReduceOp? op, long count, TimeSpan? timeout)
    {
        comm.ThrowIfDisposed();
        Timeout = timeout ?? comm.DefaultTimeout;
        Deadline = Deadline.After(Timeout);
        comm.WaitForStartedCollectives(Deadline, Timeout);
        Comm = comm;
        Rank = comm.Rank;
        Size = comm.Size;
        Kind = kind;
        Type = type;
        Count = count;
        CallNumber = comm.NextCollectiveCall();
        Tag = CollectiveSignature.Tag(kind, type, op, CallNumber);
        comm.OnCollectiveEntered(CallNumber);
    }

    public string Operation => CollectiveSignature.KindName(Kind);

    public Request Send(void* data, long bytes, int peer) => Comm.PostCollectiveSend(data, bytes, peer, Tag, Count);

    public Request Receive(void* data, long bytes, int peer) => Comm.PostCollectiveReceive(data, bytes, peer);

    /// <summary>A receive reduced straight into <paramref name="target"/>; only where <see cref="Communicator.CanReceiveReduce"/>.</summary>
    public Request ReceiveReduce(void* target, long bytes, int peer, delegate*<void*, void*, long, void> reduce) =>
        Comm.PostCollectiveReceiveReduce(target, bytes, peer, Tag, reduce)
        ?? throw new InvalidOperationException($"the {Comm.TransportName} transport cannot reduce on receive.");

    public void WaitSend(Request? request)
    {
        if (request is null) return;
        if (!request.WaitCore(Deadline)) throw TimedOut(request);
        request.ThrowIfFailed();
    }

    /// <summary>Waits for a receive and checks that the peer called the same collective with the same count.</summary>
    public void WaitReceive(Request? request, long expectedBytes)
    {
        if (request is null) return;
        if (!request.WaitCore(Deadline)) throw TimedOut(request);
        var status = request.Status;
        if (status.Tag != Tag && CollectiveSignature.BothAllReduce(status.Tag, Tag) && request.PeerCollectiveCount is long peer and >= 0 && peer != Count)
            throw CountMismatch(
                $"rank {status.Source} passed {peer} x {ElementTypes.Name(Type)}, so Auto (which picks the algorithm by size) chose {CollectiveSignature.KindName(CollectiveSignature.KindOf(status.Tag))} there " +
                $"and {Operation} here.");
        if (status.Tag != Tag)
            throw new CollectiveMismatchException(
                $"rank {Rank}: {Operation} of {Count} x {ElementTypes.Name(Type)} (call #{CallNumber} on this communicator) " +
                $"received from rank {status.Source} a message of {CollectiveSignature.Describe(status.Tag)}, where it expected " +
                $"{CollectiveSignature.Describe(Tag)}: the ranks called different collectives, element types, operators or algorithms at the same point.");
        if (status.ByteCount != expectedBytes)
        {
            long peerCount = request.PeerCollectiveCount;
            var peerText = peerCount >= 0 ? $"rank {status.Source} passed {peerCount} x {ElementTypes.Name(Type)}" : $"rank {status.Source}'s count differs";
            throw CountMismatch($"{peerText} (a message of {status.ByteCount} bytes arrived where {expectedBytes} were expected).");
        }
        request.ThrowIfFailed();
    }

    /// <summary>The ranks passed different counts: this rank's count, then <paramref name="peerText"/> on the other rank's.</summary>
    public CollectiveMismatchException CountMismatch(string peerText) => new(
        $"rank {Rank}: {Operation} (call #{CallNumber}): the ranks passed different counts: rank {Rank} passed {Count} x {ElementTypes.Name(Type)}, {peerText}");

    private CommunicationTimeoutException TimedOut(Request request)
    {
        var stragglers = Comm.DescribeStragglers(CallNumber);
        return new CommunicationTimeoutException(
            $"rank {Rank}: {Operation} of {Count} x {ElementTypes.Name(Type)} (call #{CallNumber} on this communicator of {Size} ranks) " +
            $"timed out after {Timeout} waiting for {request.Describe()}." + (stragglers is null ? "" : " " + stragglers));
    }
}
