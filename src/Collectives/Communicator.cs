using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives;

/// <summary>
/// A group of ranks that talk to each other: rank and size, point-to-point sends and receives with tags, splitting
/// into sub-communicators, and (in the other parts of this partial class) the collectives. Every transport (in-process
/// threads, MPI processes) derives from it; the collective algorithms see only the point-to-point part.
/// </summary>
/// <remarks>
/// A communicator belongs to one rank and is not thread-safe for collectives: call the collectives of one
/// communicator from one thread at a time, in the same order on every rank (as with MPI). Point-to-point calls may
/// come from any thread.
/// </remarks>
public abstract unsafe partial class Communicator : IDisposable
{
    /// <summary>Matches a message from any source in <see cref="Irecv{T}"/> and <see cref="Receive{T}"/>.</summary>
    public const int AnySource = -1;

    /// <summary>Matches a message with any tag in <see cref="Irecv{T}"/> and <see cref="Receive{T}"/>.</summary>
    public const int AnyTag = -1;

    /// <summary>The largest tag a message may carry (the smallest upper bound the MPI standard guarantees).</summary>
    public const int MaxTag = 32767;

    private bool _disposed;
    private long _collectiveCalls;

    /// <summary>Creates a communicator with the timeout taken from ALLREDUCENET_TIMEOUT_SECONDS, or 300 s.</summary>
    private protected Communicator() => DefaultTimeout = EnvironmentSettings.DefaultTimeout;

    /// <summary>This rank's index in the communicator, from 0 to <see cref="Size"/> - 1.</summary>
    public abstract int Rank { get; }

    /// <summary>The number of ranks in the communicator.</summary>
    public abstract int Size { get; }

    /// <summary>The transport's name, e.g. "in-process" or "mpi (MPICH)".</summary>
    public abstract string TransportName { get; }

    /// <summary>How long any single operation may wait before it fails with <see cref="CommunicationTimeoutException"/>.</summary>
    public TimeSpan DefaultTimeout
    {
        get => field;
        set { ThrowHelper.CheckTimeout(value, nameof(DefaultTimeout)); field = value; }
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
        return PostSend(pin.Pointer, (long)data.Length * Unsafe.SizeOf<T>(), destination, tag, MessageChannel.User, pin, -1);
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
        return PostReceive(pin.Pointer, (long)buffer.Length * Unsafe.SizeOf<T>(), source, tag, MessageChannel.User, pin);
    }

    /// <summary>Sends <paramref name="data"/> and waits until the receiver took it (or the timeout passed).</summary>
    /// <exception cref="CommunicationTimeoutException">The receiver did not take it in time.</exception>
    public void Send<T>(ReadOnlySpan<T> data, int destination, int tag, TimeSpan? timeout = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(destination, Size, nameof(destination), Rank);
        ThrowHelper.CheckTag(tag, nameof(tag), Rank, allowAny: false);
        fixed (T* p = data)
            Complete(PostSend(p, (long)data.Length * sizeof(T), destination, tag, MessageChannel.User, default, -1), timeout);
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
            return Complete(PostReceive(p, (long)buffer.Length * sizeof(T), source, tag, MessageChannel.User, default), timeout);
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
            var recv = PostReceive(r, (long)receive.Length * sizeof(T), source, receiveTag, MessageChannel.User, default);
            Request sent;
            try { sent = PostSend(s, (long)send.Length * sizeof(T), destination, sendTag, MessageChannel.User, default, -1); }
            catch { recv.TryCancel(); throw; }
            var deadline = Deadline.After(timeout ?? DefaultTimeout);
            var status = Complete(recv, timeout, deadline, sent);
            Complete(sent, timeout, deadline, null);
            return status;
        }
    }

    /// <summary>
    /// Splits the communicator like MPI_Comm_split: ranks passing the same <paramref name="color"/> form a new
    /// communicator, ordered by <paramref name="key"/> and then by their rank here. Collective: every rank calls it.
    /// </summary>
    /// <returns>The new communicator, or null for a rank that passed a negative color (MPI_UNDEFINED).</returns>
    public Communicator? Split(int color, int key)
    {
        ThrowIfDisposed();
        return SplitCore(color, key);
    }

    // ---- what a transport implements --------------------------------------------------------------------------

    /// <summary>
    /// Posts a send of <paramref name="bytes"/> bytes at <paramref name="data"/>, which stays valid until completion;
    /// <paramref name="pin"/> is released then. <paramref name="collectiveCount"/> is, for collectives, the element
    /// count this rank passed (for mismatch messages), -1 otherwise.
    /// </summary>
    private protected abstract Request PostSend(void* data, long bytes, int destination, int tag,
        MessageChannel channel, MemoryHandle pin, long collectiveCount);

    /// <summary>Posts a receive of at most <paramref name="capacity"/> bytes into <paramref name="data"/>.</summary>
    private protected abstract Request PostReceive(void* data, long capacity, int source, int tag,
        MessageChannel channel, MemoryHandle pin);

    /// <summary>The transport's MPI_Comm_split.</summary>
    private protected abstract Communicator? SplitCore(int color, int key);

    /// <summary>Releases the transport's resources.</summary>
    protected abstract void DisposeCore();

    /// <summary>
    /// Called when a collective times out: which ranks never reached call <paramref name="callNumber"/>, if the
    /// transport can tell (in-process it can; under MPI it cannot). Null when unknown.
    /// </summary>
    internal virtual string? DescribeStragglers(long callNumber) => null;

    /// <summary>Called as this rank enters collective number <paramref name="callNumber"/>.</summary>
    internal virtual void OnCollectiveEntered(long callNumber) { }

    /// <summary>
    /// The segment (pipelining unit) collectives use when neither <see cref="CollectiveOptions.SegmentBytes"/> nor
    /// ALLREDUCENET_SEGMENT_BYTES says otherwise: 1 MiB (the size a C ring over MPI point-to-point was fastest with
    /// here); transports override it with the size they were measured fastest with.
    /// </summary>
    internal virtual int DefaultSegmentBytes => 1 << 20;

    /// <summary>This call's segment size: the environment's, else the transport's default.</summary>
    internal int SegmentBytes => EnvironmentSettings.SegmentBytes ?? DefaultSegmentBytes;

    /// <summary>The transport's own AllReduce (MPI_Allreduce), or null when it has none.</summary>
    internal virtual INativeCollectives? Native => null;

    // ---- internals shared by the collectives -----------------------------------------------------------------

    /// <summary>Numbers the collectives of this communicator: the same sequence on every rank.</summary>
    internal long NextCollectiveCall() => ++_collectiveCalls;

    internal Request PostCollectiveSend(void* data, long bytes, int destination, int tag, long count) =>
        PostSend(data, bytes, destination, tag, MessageChannel.Collective, default, count);

    internal Request PostCollectiveReceive(void* data, long bytes, int source) =>
        PostReceive(data, bytes, source, AnyTag, MessageChannel.Collective, default);

    /// <summary>
    /// Posts a collective receive whose payload is reduced into <paramref name="target"/> (target = target op payload)
    /// instead of copied, where the transport can read the sender's buffer directly. Null when it cannot; the caller
    /// then receives into scratch and reduces itself. A message of another length or another signature than
    /// <paramref name="tag"/> (the ranks called different collectives) is not reduced: the buffer stays as it was and
    /// the algorithm reports the mismatch from the status.
    /// </summary>
    internal virtual Request? PostCollectiveReceiveReduce(void* target, long bytes, int source, int tag, delegate*<void*, void*, long, void> reduce) => null;

    /// <summary>
    /// Hands a completed collective request back to the transport for reuse, after the algorithm's last look at it.
    /// Transports that do not pool ignore it.
    /// </summary>
    internal virtual void Recycle(Request? request) { }

    /// <summary>True when <see cref="PostCollectiveReceiveReduce"/> is supported.</summary>
    internal virtual bool CanReceiveReduce => false;

    /// <summary>The board through which ranks read each other's buffers directly; null where they cannot (separate processes).</summary>
    internal virtual IPeerBuffers? PeerBuffers => null;

    /// <summary>Throws <see cref="ObjectDisposedException"/> naming the rank when the communicator was disposed.</summary>
    internal void ThrowIfDisposed()
    {
        if (_disposed)
            throw new ObjectDisposedException(GetType().Name, $"rank {Rank}: the communicator was disposed.");
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
        DisposeCore();
        FreeScratch();
        GC.SuppressFinalize(this);
    }
}
