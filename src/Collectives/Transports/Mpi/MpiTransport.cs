using System.Buffers;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// One rank's end of a group of MPI processes. It wraps three MPI communicators with the same group: the user's
/// (point-to-point traffic on <see cref="MessageChannel.User"/>), an MPI_Comm_dup of it for the collectives'
/// messages, so a collective's receive (any tag, from one source) never takes a user's message, and another for the
/// failure notices (<see cref="MessageChannel.Control"/>). All have MPI_ERRORS_RETURN installed, so failures come
/// back as exceptions instead of killing the job silently.
/// </summary>
/// <remarks>
/// One MPI message carries at most int.MaxValue bytes (MPI counts are C ints and the binding sends MPI_BYTE); a
/// larger point-to-point send fails with <see cref="ArgumentOutOfRangeException"/>. The collectives never hit the limit:
/// they cut messages into segments, and the native AllReduce splits its count into int-sized pieces.
/// </remarks>
internal sealed unsafe class MpiTransport : ITransport
{
    private readonly nint _userComm;
    private readonly nint _collectiveComm;
    private readonly nint _controlComm;
    private readonly bool _ownsUserComm;
    private readonly int _rank;
    private readonly int _size;
    private readonly SharedMemoryChannel? _shared;
    private MpiNativeCollectives? _native;

    /// <summary>Wraps <paramref name="userComm"/> and duplicates it for the collectives (collective over its ranks).</summary>
    /// <exception cref="MpiException">An MPI call failed.</exception>
    public MpiTransport(MpiLibrary library, nint userComm, bool ownsUserComm)
    {
        Library = library;
        _userComm = userComm;
        _ownsUserComm = ownsUserComm;
        library.Check(library.CommRank(userComm, out _rank), "MPI_Comm_rank", -1);
        library.Check(library.CommSize(userComm, out _size), "MPI_Comm_size", _rank);
        library.Check(library.CommSetErrorsReturn(userComm), "MPI_Comm_set_errhandler(MPI_ERRORS_RETURN)", _rank);
        library.Check(library.CommDup(userComm, out _collectiveComm), "MPI_Comm_dup (the collectives' channel)", _rank);
        library.Check(library.CommSetErrorsReturn(_collectiveComm), "MPI_Comm_set_errhandler(MPI_ERRORS_RETURN)", _rank);
        library.Check(library.CommDup(userComm, out _controlComm), "MPI_Comm_dup (the failure notices' channel)", _rank);
        library.Check(library.CommSetErrorsReturn(_controlComm), "MPI_Comm_set_errhandler(MPI_ERRORS_RETURN)", _rank);
        DefaultTimeout = EnvironmentSettings.Current.DefaultTimeout;
        _shared = SharedMemoryChannel.TryCreate(this, library, _collectiveComm, _rank, _size);
        _nodeOfRank = _shared is null && _size > 1 ? FindNodes() : null;
        _sockets = _shared is null && _size > 1 ? SocketChannel.TryCreate(this, library, _collectiveComm, _rank, _size, _nodeOfRank) : null;
    }

    private readonly SocketChannel? _sockets;

    /// <summary>The TCP connections to the ranks on other nodes (see <see cref="SocketChannel"/>), or null.</summary>
    internal SocketChannel? Sockets => _sockets;

    private readonly int[]? _nodeOfRank;

    /// <summary>Which node each rank runs on (null when all share one); see <see cref="FindNodes"/>.</summary>
    public int[]? NodeOfRank => _nodeOfRank;

    /// <summary>
    /// The nodes as MPI sees them: MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) groups the ranks that can share memory,
    /// each node is named by its lowest rank (MPI_MIN over the node), and an MPI_MAX over the group of a vector holding
    /// only this rank's entry tells every rank every rank's node. Collective; run once, when the transport is made.
    /// </summary>
    private int[]? FindNodes()
    {
        var h = Library.Handles;
        Library.Check(Library.CommSplitShared(_collectiveComm, _rank, out nint nodeComm), "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) (finding the nodes)", _rank);
        long mine = _rank, lowest;
        int rc = Library.Allreduce(&mine, &lowest, 1, h.Int64, h.OpMin, nodeComm);
        Library.CommFree(nodeComm);
        Library.Check(rc, "MPI_Allreduce (the lowest rank of this node)", _rank);
        var leaders = new long[_size];
        var all = new long[_size];
        Array.Fill(leaders, -1);
        leaders[_rank] = lowest;
        fixed (long* send = leaders)
        fixed (long* receive = all)
            Library.Check(Library.Allreduce(send, receive, _size, h.Int64, h.OpMax, _collectiveComm), "MPI_Allreduce (every rank's node)", _rank);
        var numbering = new Dictionary<long, int>();
        var nodes = new int[_size];
        for (int r = 0; r < _size; r++)
        {
            if (!numbering.TryGetValue(all[r], out int node)) numbering[all[r]] = node = numbering.Count;
            nodes[r] = node;
        }
        return numbering.Count > 1 ? nodes : null;
    }

    internal MpiLibrary Library { get; }

    /// <summary>The MPI communicator the collectives' messages travel on.</summary>
    internal nint CollectiveComm => _collectiveComm;

    public int Rank => _rank;

    public int Size => _size;

    public TimeSpan DefaultTimeout { get; set; }

    public string Name => _shared is not null ? $"mpi ({Library.ShortName}, shared memory)"
        : _sockets is not null ? $"mpi ({Library.ShortName}, tcp sockets between nodes)" : $"mpi ({Library.ShortName})";

    /// <summary>True when the collectives' messages travel through the node's shared memory (see <see cref="SharedMemoryChannel"/>).</summary>
    internal bool UsesSharedMemory => _shared is not null;

    /// <summary>That channel, or null (the MPI test app reports its slot geometry).</summary>
    internal SharedMemoryChannel? SharedMemory => _shared;

    /// <summary>
    /// Through shared memory 256 KiB (measured at 2 ranks: a 1 MiB ring AllReduce took 55 to 66 us with 256 KiB
    /// segments against 95 to 108 with 1 MiB and 120 to 134 with 128 KiB); between ranks on different nodes
    /// <see cref="CrossNodeSegmentBytes"/>; otherwise (MPI point-to-point inside one node) the base 1 MiB.
    /// </summary>
    public int DefaultSegmentBytes => _shared is not null ? 256 << 10 : _nodeOfRank is not null ? CrossNodeSegmentBytes : 1 << 20;

    /// <summary>
    /// The segment when the group spans nodes (MPI's TCP path or the socket channel): 4 MiB. Every segment is a
    /// message of its own, and over TCP each costs a rendezvous round trip and a share of the 2 cores' protocol work,
    /// so fewer, larger messages win; one message per chunk (no pipelining at all) lost again. Measured across the
    /// two namespace hosts, 1 rank each, against MPI_Allreduce in the same job (benchmarks/RESULTS-cluster.md,
    /// section "tcpsweep"): pooled over 10 to 15 rounds the ring's median ratio at 1 to 16 MiB was 1.07 to 1.16x with
    /// 4 MiB segments, against 0.88 to 1.18x over 5 rounds with 1 MiB; 128 to 512 KiB segments were slower still.
    /// </summary>
    internal const int CrossNodeSegmentBytes = 4 << 20;

    public INativeCollectives? Native => _native ??= new MpiNativeCollectives(this);

    public Request PostSend(void* data, long bytes, int destination, int tag, MessageChannel channel, MemoryHandle pin, long collectiveCount)
    {
        if (_shared is not null && channel == MessageChannel.Collective)
        {
            ThrowIfFinalized();
            return _shared.PostSend((byte*)data, bytes, destination, tag, collectiveCount);
        }
        if (_sockets is not null && channel == MessageChannel.Collective && _sockets.Connects(destination))
        {
            if (Library.IsFinalized) pin.Dispose();
            ThrowIfFinalized();
            return _sockets.PostSend((byte*)data, bytes, destination, tag, collectiveCount, pin);
        }
        if (Library.IsFinalized || bytes > int.MaxValue)
        {
            pin.Dispose();
            ThrowIfFinalized();
            ThrowHelper.ArgumentOutOfRange("data", bytes,
                $"rank {_rank}: a send of {bytes} bytes to rank {destination} exceeds the {int.MaxValue} bytes one MPI message can carry " +
                "(MPI counts are C ints); send it in pieces, or use a collective, which segments its messages.");
        }
        int rc = Library.Isend(data, (int)bytes, destination, tag, CommOf(channel), out var handle);
        if (rc != 0)
        {
            pin.Dispose();
            throw Library.Error(rc, $"MPI_Isend of {bytes} bytes to rank {destination} (tag {tag})", _rank);
        }
        return new MpiRequest(this, isSend: true, handle, bytes, destination, tag, channel, pin);
    }

    public Request PostReceive(void* data, long capacity, int source, int tag, MessageChannel channel, MemoryHandle pin)
    {
        if (_shared is not null && channel == MessageChannel.Collective)
        {
            // Collective receives always name their source and take any tag (the algorithm checks the tag).
            ThrowIfFinalized();
            return _shared.PostReceive((byte*)data, capacity, source, reduce: null);
        }
        if (_sockets is not null && channel == MessageChannel.Collective && _sockets.Connects(source))
        {
            if (Library.IsFinalized) pin.Dispose();
            ThrowIfFinalized();
            return _sockets.PostReceive((byte*)data, capacity, source, pin);
        }
        if (Library.IsFinalized)
        {
            pin.Dispose();
            ThrowIfFinalized();
        }
        // No message exceeds int.MaxValue bytes (see PostSend), so a larger buffer can safely be announced as that.
        int announced = (int)Math.Min(capacity, int.MaxValue);
        var h = Library.Handles;
        int mpiSource = source == Communicator.AnySource ? h.AnySource : source;
        int mpiTag = tag == Communicator.AnyTag ? h.AnyTag : tag;
        int rc = Library.Irecv(data, announced, mpiSource, mpiTag, CommOf(channel), out var handle);
        if (rc != 0)
        {
            pin.Dispose();
            throw Library.Error(rc, $"MPI_Irecv of up to {capacity} bytes from {(source == Communicator.AnySource ? "any rank" : $"rank {source}")}", _rank);
        }
        var request = new MpiRequest(this, isSend: false, handle, capacity, source, tag, channel, pin);
        if (channel == MessageChannel.Control) lock (Live) { _controlReceives.Add(request); Live.Add(this); }
        return request;
    }

    public bool ReducesOnReceive => _shared is not null;

    public Request? PostReceiveReduce(void* target, long bytes, int source, int tag, delegate*<void*, void*, long, void> reduce)
    {
        if (_shared is null) return null;
        ThrowIfFinalized();
        return _shared.PostReceive((byte*)target, bytes, source, reduce, tag);
    }

    public void Recycle(Request? request)
    {
        if (request is SharedMemoryRequest r) _shared?.Recycle(r);
    }

    /// <summary>
    /// The group the core agreed on, made with MPI_Comm_split on the user's communicator: the color is the group's
    /// first member (unique per group), the key the position in <paramref name="members"/>; MPI_UNDEFINED for a rank
    /// in no group. Blocks until every rank calls it.
    /// </summary>
    public ITransport? CreateGroup(int[]? members, long groupId)
    {
        ThrowIfFinalized();
        int color = members is null ? Library.Handles.Undefined : members[0];
        int key = members is null ? 0 : Array.IndexOf(members, _rank);
        Library.Check(Library.CommSplit(_userComm, color, key, out var newComm), $"MPI_Comm_split (split #{groupId}, color {color}, key {key})", _rank);
        if (newComm == Library.Handles.CommNull) return null;
        return new MpiTransport(Library, newComm, ownsUserComm: true) { DefaultTimeout = DefaultTimeout };
    }

    /// <summary>Frees the duplicated communicator (and a split's own); MPI_COMM_WORLD itself is never freed.</summary>
    /// <summary>
    /// Transports with a failure-notice receive posted: a communicator its user never disposed keeps one, and
    /// MPI_Finalize must not find it pending (UCX warns of requests not returned).
    /// </summary>
    private static readonly HashSet<MpiTransport> Live = new();
    private readonly List<MpiRequest> _controlReceives = new();

    /// <summary>Withdraws every failure-notice receive still posted; called by <see cref="MpiRuntime.Finalize(int)"/> before MPI_Finalize.</summary>
    internal static void WithdrawControlReceives()
    {
        lock (Live)
        {
            foreach (var transport in Live)
                foreach (var receive in transport._controlReceives)
                    if (!receive.IsCompleted) receive.TryCancel();
            Live.Clear();
        }
    }

    public void Dispose()
    {
        lock (Live) Live.Remove(this);
        if (Library.IsFinalized) return;
        _shared?.Dispose();
        _sockets?.Dispose();
        Library.CommFree(_collectiveComm);
        Library.CommFree(_controlComm);
        if (_ownsUserComm) Library.CommFree(_userComm);
    }

    private nint CommOf(MessageChannel channel) => channel switch
    {
        MessageChannel.Collective => _collectiveComm,
        MessageChannel.Control => _controlComm,
        _ => _userComm,
    };

    private void ThrowIfFinalized()
    {
        if (Library.IsFinalized)
            throw new InvalidOperationException($"rank {_rank}: MPI was finalized (MpiRuntime.Finalize); no MPI communication is possible any more.");
    }
}
