using System.Buffers;
using System.Runtime.CompilerServices;

namespace AllReduceNet.Collectives;

/// <summary>
/// A group of ranks that talk to each other: rank and size, point-to-point sends and receives with tags, splitting
/// into sub-communicators, and (in the other parts of this partial class) the collectives. Get one from
/// <see cref="Transports.InProcess.InProcessWorld"/> (ranks are threads) or <see cref="Transports.Mpi.MpiRuntime"/>
/// (ranks are MPI processes).
/// </summary>
/// <remarks>
/// A communicator belongs to one rank and is not thread-safe for collectives: call the collectives of one
/// communicator from one thread at a time, in the same order on every rank (as with MPI). Point-to-point calls may
/// come from any thread. A collective that fails on any rank fails on every rank of the group (the failing rank tells
/// the others), and the communicator then refuses further collectives: the ranks no longer agree on what was sent.
/// </remarks>
public sealed unsafe partial class Communicator : IDisposable
{
    /// <summary>Matches a message from any source in <see cref="Irecv{T}"/> and <see cref="Receive{T}"/>.</summary>
    public const int AnySource = -1;

    /// <summary>Matches a message with any tag in <see cref="Irecv{T}"/> and <see cref="Receive{T}"/>.</summary>
    public const int AnyTag = -1;

    /// <summary>The largest tag a message may carry (the smallest upper bound the MPI standard guarantees).</summary>
    public const int MaxTag = 32767;

    private bool _disposed;
    private long _collectiveCalls;
    private readonly ScratchMemory _scratch = new();
    private NodeTopology? _topology;

    /// <summary>Wraps one rank's end of a transport; the timeout comes from the transport (ALLREDUCENET_TIMEOUT_SECONDS or a world's option).</summary>
    internal Communicator(ITransport transport)
    {
        Transport = transport;
        Failures = new CollectiveFailures(this);
    }

    /// <summary>The transport underneath: the only thing the facade and the primitives talk to.</summary>
    internal ITransport Transport { get; }

    /// <summary>How the ranks sit on nodes (from the transport), and the hierarchical AllReduce's sub-communicators.</summary>
    internal NodeTopology Topology => _topology ??= NodeTopology.Of(Transport);

    /// <summary>Failure notices from peers and this rank's own failed collective.</summary>
    internal CollectiveFailures Failures { get; }

    /// <summary>This rank's index in the communicator, from 0 to <see cref="Size"/> - 1.</summary>
    public int Rank => Transport.Rank;

    /// <summary>The number of ranks in the communicator.</summary>
    public int Size => Transport.Size;

    /// <summary>The transport's name, e.g. "in-process" or "mpi (MPICH)".</summary>
    public string TransportName => Transport.Name;

    /// <summary>How long any single operation may wait before it fails with <see cref="CommunicationTimeoutException"/>.</summary>
    public TimeSpan DefaultTimeout
    {
        get => Transport.DefaultTimeout;
        set { ThrowHelper.CheckTimeout(value, nameof(DefaultTimeout)); Transport.DefaultTimeout = value; }
    }

    /// <summary>True once <see cref="Dispose()"/> ran.</summary>
    public bool IsDisposed => _disposed;

    // ---- point-to-point ---------------------------------------------------------------------------------------

    /// <summary>Starts sending <paramref name="data"/> to <paramref name="destination"/>; the memory stays pinned and must not change until the request completes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The destination or tag is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The communicator was disposed.</exception>
    public Request Isend<T>(ReadOnlyMemory<T> data, int destination, int tag) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(destination, Size, nameof(destination), Rank);
        ThrowHelper.CheckTag(tag, nameof(tag), Rank, allowAny: false);
        var pin = data.Pin();
        return Transport.PostSend(pin.Pointer, (long)data.Length * Unsafe.SizeOf<T>(), destination, tag, MessageChannel.User, pin, -1);
    }

    /// <summary>Starts receiving into <paramref name="buffer"/> from <paramref name="source"/> (or <see cref="AnySource"/>) with <paramref name="tag"/> (or <see cref="AnyTag"/>).</summary>
    /// <remarks>A shorter message is fine (see <see cref="MessageStatus.ByteCount"/>); a longer one fails the request.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The source or tag is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The communicator was disposed.</exception>
    public Request Irecv<T>(Memory<T> buffer, int source, int tag) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.CheckPeer(source, Size, nameof(source), Rank, allowAny: true);
        ThrowHelper.CheckTag(tag, nameof(tag), Rank, allowAny: true);
        var pin = buffer.Pin();
        return Transport.PostReceive(pin.Pointer, (long)buffer.Length * Unsafe.SizeOf<T>(), source, tag, MessageChannel.User, pin);
    }

    /// <summary>Sends <paramref name="data"/> and waits until the receiver took it (or the timeout passed).</summary>
    /// <exception cref="CommunicationTimeoutException">The receiver did not take it in time.</exception>
    public void Send<T>(ReadOnlySpan<T> data, int destination, int tag, TimeSpan? timeout = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(destination, Size, nameof(destination), Rank);
        ThrowHelper.CheckTag(tag, nameof(tag), Rank, allowAny: false);
        fixed (T* p = data)
            Complete(Transport.PostSend(p, (long)data.Length * sizeof(T), destination, tag, MessageChannel.User, default, -1), timeout);
    }

    /// <summary>Receives into <paramref name="buffer"/> and returns who sent how much.</summary>
    /// <exception cref="CommunicationTimeoutException">No matching message arrived in time.</exception>
    /// <exception cref="CollectiveMismatchException">The message was longer than the buffer.</exception>
    public MessageStatus Receive<T>(Span<T> buffer, int source, int tag, TimeSpan? timeout = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.CheckPeer(source, Size, nameof(source), Rank, allowAny: true);
        ThrowHelper.CheckTag(tag, nameof(tag), Rank, allowAny: true);
        fixed (T* p = buffer)
            return Complete(Transport.PostReceive(p, (long)buffer.Length * sizeof(T), source, tag, MessageChannel.User, default), timeout);
    }

    /// <summary>Sends and receives at once (like MPI_Sendrecv), so a ring of exchanges cannot deadlock.</summary>
    /// <exception cref="CommunicationTimeoutException">Either side did not complete in time.</exception>
    public MessageStatus SendReceive<T>(ReadOnlySpan<T> send, int destination, int sendTag,
        Span<T> receive, int source, int receiveTag, TimeSpan? timeout = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(destination, Size, nameof(destination), Rank);
        ThrowHelper.CheckTag(sendTag, nameof(sendTag), Rank, allowAny: false);
        ThrowHelper.CheckPeer(source, Size, nameof(source), Rank, allowAny: true);
        ThrowHelper.CheckTag(receiveTag, nameof(receiveTag), Rank, allowAny: true);
        fixed (T* r = receive)
        fixed (T* s = send)
        {
            var recv = Transport.PostReceive(r, (long)receive.Length * sizeof(T), source, receiveTag, MessageChannel.User, default);
            Request sent;
            try { sent = Transport.PostSend(s, (long)send.Length * sizeof(T), destination, sendTag, MessageChannel.User, default, -1); }
            catch { recv.TryCancel(); throw; }
            var deadline = Deadline.After(timeout ?? DefaultTimeout);
            var status = Complete(recv, timeout, deadline, sent);
            Complete(sent, timeout, deadline, null);
            return status;
        }
    }

    // ---- internals shared by the collectives -----------------------------------------------------------------

    /// <summary>Numbers the collectives of this communicator: the same sequence on every rank.</summary>
    internal long NextCollectiveCall() => ++_collectiveCalls;

    /// <summary>The number the next collective will get (for debug output before the call is made).</summary>
    internal long PeekNextCollectiveCall() => _collectiveCalls + 1;

    /// <summary>The working memory of the collective in progress.</summary>
    internal ScratchMemory Scratch => _scratch;

    /// <summary>This call's segment size: the options', else the environment's, else the transport's measured default.</summary>
    internal int SegmentBytes(CollectiveOptions options) =>
        options.SegmentBytes ?? EnvironmentSettings.Current.SegmentBytes ?? Transport.DefaultSegmentBytes;

    /// <summary>Throws <see cref="ObjectDisposedException"/> naming the rank when the communicator was disposed.</summary>
    internal void ThrowIfDisposed()
    {
        if (_disposed)
            throw new ObjectDisposedException(nameof(Communicator), $"rank {Rank}: the communicator was disposed.");
    }

    private MessageStatus Complete(Request request, TimeSpan? timeout) =>
        Complete(request, timeout, Deadline.After(timeout ?? DefaultTimeout), null);

    private static MessageStatus Complete(Request request, TimeSpan? timeout, Deadline deadline, Request? alsoPending)
    {
        bool done;
        try { done = request.WaitCore(deadline); }
        catch { Withdraw(request, alsoPending); throw; }
        if (!done)
        {
            // The buffer was pinned only for this call: withdraw the request before the caller's memory moves.
            Withdraw(request, alsoPending);
            throw new CommunicationTimeoutException($"{request.Describe()} did not complete within {timeout ?? request.DefaultTimeout}.");
        }
        request.ThrowIfFailed();
        return request.Status;
    }

    private static void Withdraw(Request request, Request? alsoPending)
    {
        if (!request.TryCancel()) request.WaitCore(Deadline.After(TimeSpan.FromSeconds(1)));
        if (alsoPending is not null && !alsoPending.TryCancel()) alsoPending.WaitCore(Deadline.After(TimeSpan.FromSeconds(1)));
    }

    /// <summary>Releases the communicator; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeQueue();
        Failures.Dispose(_collectiveCalls);
        _topology?.Dispose();
        Transport.Dispose();
        _scratch.Dispose();
    }
}
