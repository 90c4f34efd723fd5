using System.Buffers;
using System.Runtime.CompilerServices;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The collectives' messages between MPI ranks that share a node, carried through shared memory instead of MPI's own
/// point-to-point path: the same move MPICH (its shm module), Open MPI (vader) and NCCL (its SHM transport) make, but
/// with the receiver able to reduce straight out of the shared slot, one pass instead of a copy and then a reduction.
/// </summary>
/// <remarks>
/// <para>
/// The memory comes from MPI_Win_allocate_shared over the node's ranks (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED), so
/// MPI owns it and frees it even when a job dies. Each rank's part of the window holds one queue per other rank: the
/// queue that rank writes and this rank reads. A queue is a ring of <see cref="SlotCount"/> slots of
/// <see cref="SlotBytes"/> bytes: single producer, single consumer, a head the sender advances and a tail the receiver
/// advances, each on a cache line of its own. A message is one or more fragments, each slot carrying the message's
/// tag, total length and the sender's collective count beside its payload, so the receiver can check a collective's
/// signature and name both counts on a mismatch, as the in-process transport does.
/// </para>
/// <para>
/// Messages between two ranks arrive in the order they were sent, which is what the collectives' channel promises
/// (MPI's non-overtaking rule for one source and communicator): the k-th receive posted for a source takes the k-th
/// message from it. A send completes once its last fragment is in a slot (its buffer is then free); a receive once its
/// last fragment was consumed. Data moves whenever this rank polls any of its requests (<see cref="Progress"/>), so a
/// large send streams through the slots while the receiver drains them: the copy-in of one fragment overlaps the
/// reduction of the previous one on the other core.
/// </para>
/// <para>
/// Ordering: a fragment's payload and header are written before the head is advanced with a release store
/// (<see cref="Volatile.Write(ref long, long)"/>), and read only after the head is read with an acquire load; the
/// tail works the same way backwards, so a slot is never overwritten before it was consumed.
/// </para>
/// </remarks>
internal sealed unsafe class SharedMemoryChannel : IDisposable
{
    private const int HeadOffset = 0;
    private const int TailOffset = 128;          // its own pair of cache lines: the adjacent-line prefetcher fetches two
    private const int SlotsOffset = 256;
    private const int SlotHeaderBytes = 64;
    // Slot header fields.
    private const int MessageBytesField = 0;     // long: the whole message's length
    private const int CountField = 8;            // long: the sender's collective element count (-1 when none)
    private const int TagField = 16;             // int
    private const int FragmentBytesField = 20;   // int: payload bytes in this slot

    private readonly MpiLibrary _mpi;
    private readonly int _rank;
    private readonly int _size;
    private readonly nint _nodeComm;
    private readonly nint _window;
    private readonly long _queueBytes;
    private readonly long _slotStride;
    private readonly byte*[] _inbox;             // [source]: the queue that source writes, in this rank's memory
    private readonly byte*[] _outbox;            // [destination]: this rank's queue in the destination's memory
    private readonly long[] _sendHead;           // fragments published to each destination
    private readonly long[] _sendTailSeen;       // the destination's tail as last read (refreshed when the ring looks full)
    private readonly long[] _receiveTail;        // fragments consumed from each source
    private readonly Queue<SharedMemoryRequest>[] _sends;
    private readonly Queue<SharedMemoryRequest>[] _receives;
    private readonly Stack<SharedMemoryRequest> _free = new();
    private readonly object _gate = new();
    private int _pending;
    private bool _disposed;

    private SharedMemoryChannel(ITransport owner, MpiLibrary mpi, int rank, int size, nint nodeComm, int slotBytes, int slotCount, bool oversubscribed)
    {
        Owner = owner;
        _mpi = mpi;
        _rank = rank;
        _size = size;
        _nodeComm = nodeComm;
        SlotBytes = slotBytes;
        SlotCount = slotCount;
        Oversubscribed = oversubscribed;
        _slotStride = SlotHeaderBytes + (long)slotBytes;
        _queueBytes = SlotsOffset + slotCount * _slotStride;
        long windowBytes = (size - 1) * _queueBytes;
        mpi.Check(mpi.WinAllocateShared(windowBytes, nodeComm, out byte* mine, out _window),
            $"MPI_Win_allocate_shared of {windowBytes} bytes (the collectives' shared-memory queues)", rank);

        // A failure below leaves the window to MPI_Finalize: freeing it here (collective) would hang this rank while
        // the others wait in the barrier; the exception ends the job through the abort hook instead.
        // Heads and tails start at zero; every rank clears its own part before any rank may write into it.
        for (int q = 0; q < size - 1; q++)
        {
            *(long*)(mine + q * _queueBytes + HeadOffset) = 0;
            *(long*)(mine + q * _queueBytes + TailOffset) = 0;
        }
        _inbox = new byte*[size];
        _outbox = new byte*[size];
        for (int peer = 0; peer < size; peer++)
        {
            if (peer == rank) continue;
            mpi.Check(mpi.WinSharedQuery(_window, peer, out long theirBytes, out byte* theirs), $"MPI_Win_shared_query(rank {peer})", rank);
            if (theirBytes != windowBytes)
                throw new MpiException(
                    $"rank {rank}: rank {peer}'s shared-memory queues take {theirBytes} bytes where this rank's take {windowBytes}: the ranks were started with " +
                    "different ALLREDUCENET_SHM_SLOT_BYTES or ALLREDUCENET_SHM_SLOTS; give every rank the same values.", -1, -1);
            _inbox[peer] = mine + QueueIndex(owner: rank, writer: peer) * _queueBytes;
            _outbox[peer] = theirs + QueueIndex(owner: peer, writer: rank) * _queueBytes;
        }
        _sendHead = new long[size];
        _sendTailSeen = new long[size];
        _receiveTail = new long[size];
        _sends = new Queue<SharedMemoryRequest>[size];
        _receives = new Queue<SharedMemoryRequest>[size];
        for (int peer = 0; peer < size; peer++)
        {
            _sends[peer] = new Queue<SharedMemoryRequest>();
            _receives[peer] = new Queue<SharedMemoryRequest>();
        }
        mpi.Check(mpi.Barrier(nodeComm), "MPI_Barrier (after clearing the shared-memory queues)", rank);
    }

    /// <summary>The communicator whose collectives travel here (for its timeout).</summary>
    public ITransport Owner { get; }

    /// <summary>Payload bytes per slot.</summary>
    public int SlotBytes { get; }

    /// <summary>Slots per queue: how many fragments a sender may run ahead of its receiver.</summary>
    public int SlotCount { get; }

    /// <summary>More ranks on the node than cores: waits yield the core at once instead of spinning.</summary>
    public bool Oversubscribed { get; }

    /// <summary>
    /// Sets up the channel for <paramref name="comm"/> (the collectives' duplicate of <paramref name="owner"/>'s communicator) when all of its ranks share this node and it is not switched
    /// off (ALLREDUCENET_MPI_SHM=0); null otherwise. Collective over <paramref name="comm"/>: every rank decides
    /// alike, since every rank sees the same node sizes.
    /// </summary>
    /// <exception cref="MpiException">An MPI call failed.</exception>
    public static SharedMemoryChannel? TryCreate(ITransport owner, MpiLibrary mpi, nint comm, int rank, int size)
    {
        if (size < 2) return null;
        // Every rank takes the same collective steps whatever its own environment says, then all agree: one rank
        // with ALLREDUCENET_MPI_SHM=0 turns the channel off everywhere instead of leaving the others in a collective.
        var settings = stackalloc long[] { EnvironmentSettings.Current.MpiSharedMemory ? 1 : 0, EnvironmentSettings.Current.SharedMemorySlotBytes, EnvironmentSettings.Current.SharedMemorySlots };
        var lowest = stackalloc long[3];
        var highest = stackalloc long[3];
        var h = mpi.Handles;
        mpi.Check(mpi.Allreduce(settings, lowest, 3, h.Int64, h.OpMin, comm), "MPI_Allreduce (agreeing on the shared-memory settings)", rank);
        mpi.Check(mpi.Allreduce(settings, highest, 3, h.Int64, h.OpMax, comm), "MPI_Allreduce (agreeing on the shared-memory settings)", rank);
        if (lowest[0] == 0) return null;
        if (lowest[1] != highest[1] || lowest[2] != highest[2])
            throw new MpiException(
                $"rank {rank}: the ranks were started with different shared-memory settings (ALLREDUCENET_SHM_SLOT_BYTES from {lowest[1]} to {highest[1]}, " +
                $"ALLREDUCENET_SHM_SLOTS from {lowest[2]} to {highest[2]}); give every rank the same values, or ALLREDUCENET_MPI_SHM=0.", -1, -1);
        mpi.Check(mpi.CommSplitShared(comm, rank, out nint nodeComm), "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)", rank);
        mpi.Check(mpi.CommSize(nodeComm, out int nodeSize), "MPI_Comm_size (node communicator)", rank);
        mpi.Check(mpi.CommRank(nodeComm, out int nodeRank), "MPI_Comm_rank (node communicator)", rank);
        if (nodeSize != size || nodeRank != rank)
        {
            // Ranks on several nodes: the collectives keep to MPI's point-to-point path everywhere.
            mpi.CommFree(nodeComm);
            return null;
        }
        // Keep a rank's part of the window within 32 MiB however many ranks share the node: fewer slots first, then
        // smaller ones (not below 64 KiB).
        const long budget = 32L << 20;
        int slotBytes = EnvironmentSettings.Current.SharedMemorySlotBytes;
        int slots = (int)Math.Clamp(budget / ((size - 1) * (SlotHeaderBytes + (long)slotBytes)), 2, EnvironmentSettings.Current.SharedMemorySlots);
        if ((size - 1) * slots * (long)slotBytes > budget)
            slotBytes = (int)Math.Min(slotBytes, Math.Max(64 << 10, budget / ((size - 1) * slots) / 64 * 64));
        try
        {
            // Oversubscribed when the node's ranks together may use fewer CPUs than there are ranks (the union of
            // their affinity masks; a cgroup CPU quota below the CPUs named there is not seen).
            var mask = stackalloc long[CpuAffinity.MaskLongs];
            var union = stackalloc long[CpuAffinity.MaskLongs];
            CpuAffinity.Read(mask);
            mpi.Check(mpi.Allreduce(mask, union, CpuAffinity.MaskLongs, h.Int64, h.OpBitwiseOr, nodeComm), "MPI_Allreduce (the node's CPUs)", rank);
            bool oversubscribed = size > Math.Max(1, CpuAffinity.Count(union));
            return new SharedMemoryChannel(owner, mpi, rank, size, nodeComm, slotBytes, slots, oversubscribed);
        }
        catch
        {
            mpi.CommFree(nodeComm);
            throw;
        }
    }

    /// <summary>Which of <paramref name="owner"/>'s queues <paramref name="writer"/> writes: the ranks other than the owner, in order.</summary>
    private static int QueueIndex(int owner, int writer) => writer < owner ? writer : writer - 1;

    public SharedMemoryRequest PostSend(byte* data, long bytes, int destination, int tag, long collectiveCount)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var request = Rent().Init(isSend: true, data, bytes, destination, tag, collectiveCount, reduce: null);
            _sends[destination].Enqueue(request);
            _pending++;
            // Small messages go out at once, so that the send is complete before the caller first waits.
            if (_sends[destination].Count == 1) PushSends(destination);
            return request;
        }
    }

    /// <summary>Posts a receive; with <paramref name="reduce"/>, a receive-reduce of a message of exactly this length and <paramref name="tag"/>.</summary>
    public SharedMemoryRequest PostReceive(byte* target, long capacity, int source, delegate*<void*, void*, long, void> reduce, int tag = Communicator.AnyTag)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            var request = Rent().Init(isSend: false, target, capacity, source, tag, -1, reduce);
            _receives[source].Enqueue(request);
            _pending++;
            if (_receives[source].Count == 1) PullReceives(source);
            return request;
        }
    }

    /// <summary>Moves every fragment that can move now, in both directions, for every peer.</summary>
    public void Progress()
    {
        lock (_gate)
        {
            if (_pending == 0 || _disposed) return;
            for (int peer = 0; peer < _size; peer++)
            {
                if (_receives[peer].Count > 0) PullReceives(peer);
                if (_sends[peer].Count > 0) PushSends(peer);
            }
        }
    }

    /// <summary>
    /// Withdraws a request so that the channel no longer touches the caller's memory; false only when it already
    /// finished. One that has moved no byte yet leaves its queue. One halfway through a message cannot leave (the
    /// peer's fragments and the framing of the stream depend on it), so it is detached instead: a receive drains the
    /// rest of its message without storing it, a send goes on from a copy of its remaining bytes that the channel
    /// owns. Either way the peers' later messages still line up.
    /// </summary>
    public bool TryWithdraw(SharedMemoryRequest request)
    {
        lock (_gate)
        {
            if (request.IsDone) return false;
            if (request.Started)
            {
                request.Detach();
                request.MarkWithdrawn();
                return true;
            }
            var queue = request.IsSend ? _sends[request.Peer] : _receives[request.Peer];
            int n = queue.Count;
            bool found = false;
            for (int i = 0; i < n; i++)
            {
                var r = queue.Dequeue();
                if (ReferenceEquals(r, request)) found = true;
                else queue.Enqueue(r);
            }
            if (found)
            {
                _pending--;
                request.MarkWithdrawn();
            }
            return found;
        }
    }

    /// <summary>Takes back a completed request for reuse (collectives of one communicator run one at a time).</summary>
    public void Recycle(SharedMemoryRequest request)
    {
        lock (_gate)
            if (request.IsDone && !request.IsWithdrawn && _free.Count < 256) _free.Push(request);
    }

    private SharedMemoryRequest Rent() => _free.Count > 0 ? _free.Pop() : new SharedMemoryRequest(this, _rank);

    /// <summary>Writes fragments of the queued sends to <paramref name="destination"/> while its ring has free slots.</summary>
    private void PushSends(int destination)
    {
        var queue = _sends[destination];
        byte* ring = _outbox[destination];
        while (queue.Count > 0)
        {
            var send = queue.Peek();
            do
            {
                long head = _sendHead[destination];
                if (head - _sendTailSeen[destination] >= SlotCount)
                {
                    _sendTailSeen[destination] = Volatile.Read(ref *(long*)(ring + TailOffset));
                    if (head - _sendTailSeen[destination] >= SlotCount) return;
                }
                byte* slot = ring + SlotsOffset + (head % SlotCount) * _slotStride;
                int fragment = (int)Math.Min(SlotBytes, send.Bytes - send.Offset);
                *(long*)(slot + MessageBytesField) = send.Bytes;
                *(long*)(slot + CountField) = send.CollectiveCount;
                *(int*)(slot + TagField) = send.Tag;
                *(int*)(slot + FragmentBytesField) = fragment;
                if (fragment > 0) Buffer.MemoryCopy(send.Buffer + send.Offset, slot + SlotHeaderBytes, fragment, fragment);
                Volatile.Write(ref *(long*)(ring + HeadOffset), head + 1);
                _sendHead[destination] = head + 1;
                send.Offset += fragment;
                send.Started = true;
            }
            while (send.Offset < send.Bytes);
            queue.Dequeue();
            _pending--;
            send.Complete(send.Bytes, send.Tag, -1, error: null);
        }
    }

    /// <summary>Consumes the fragments that <paramref name="source"/> published, into the receives queued for it, in order.</summary>
    private void PullReceives(int source)
    {
        var queue = _receives[source];
        byte* ring = _inbox[source];
        while (queue.Count > 0)
        {
            var receive = queue.Peek();
            do
            {
                long tail = _receiveTail[source];
                if (Volatile.Read(ref *(long*)(ring + HeadOffset)) <= tail) return;
                byte* slot = ring + SlotsOffset + (tail % SlotCount) * _slotStride;
                int fragment = *(int*)(slot + FragmentBytesField);
                if (!receive.Started)
                {
                    receive.Started = true;
                    receive.MessageBytes = *(long*)(slot + MessageBytesField);
                    receive.MessageTag = *(int*)(slot + TagField);
                    receive.PeerCount = *(long*)(slot + CountField);
                    // A receive-reduce needs exactly its length and signature; a plain receive at most its capacity.
                    // Otherwise the message is drained unused, the buffer is left as it was, and the algorithm reports
                    // the mismatch from the status.
                    receive.Discard = receive.Reduce != null
                        ? receive.MessageBytes != receive.Bytes || receive.MessageTag != receive.Tag
                        : receive.MessageBytes > receive.Bytes;
                }
                // A header that disagrees with the layout (ranks configured differently) must not write out of bounds.
                if (fragment < 0 || fragment > SlotBytes || fragment > receive.MessageBytes - receive.Offset)
                    throw new CollectiveException($"rank {_rank}: a corrupt shared-memory fragment from rank {source} ({fragment} bytes at offset {receive.Offset} of a {receive.MessageBytes}-byte message, slots of {SlotBytes} bytes): do all ranks have the same ALLREDUCENET_SHM_SLOT_BYTES and ALLREDUCENET_SHM_SLOTS?");
                if (fragment > 0 && !receive.Discard)
                {
                    if (receive.Reduce != null) receive.Reduce(receive.Buffer + receive.Offset, slot + SlotHeaderBytes, fragment);
                    else Buffer.MemoryCopy(slot + SlotHeaderBytes, receive.Buffer + receive.Offset, fragment, fragment);
                }
                receive.Offset += fragment;
                Volatile.Write(ref *(long*)(ring + TailOffset), tail + 1);
                _receiveTail[source] = tail + 1;
            }
            while (receive.Offset < receive.MessageBytes);
            queue.Dequeue();
            _pending--;
            receive.Complete(receive.MessageBytes, receive.MessageTag, receive.PeerCount, error: null);
        }
    }

    /// <summary>
    /// Fails every request still queued (a non-blocking collective that never finished), then MPI_Win_free and
    /// MPI_Comm_free. Under the channel's lock, so a progress thread still polling sees the channel closed instead
    /// of touching unmapped memory. MPI_Win_free waits for every rank of the node and has no timeout: communicators
    /// must be disposed in the same order on every rank, as the MPI standard asks of MPI_Comm_free. (Bounding it with
    /// an MPI_Ibarrier was considered: a barrier that timed out on one rank still completes later on the others,
    /// which then wait in MPI_Win_free for a rank that gave up: a deadlock instead of a hang.)
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            var closed = new ObjectDisposedException(nameof(SharedMemoryChannel), $"rank {_rank}: the communicator was disposed while this transfer was in flight.");
            foreach (var queue in _sends.Concat(_receives))
                while (queue.Count > 0) queue.Dequeue().Complete(0, 0, -1, closed);
            _pending = 0;
            if (_mpi.IsFinalized) return;
            _mpi.WinFree(_window);
            _mpi.CommFree(_nodeComm);
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(SharedMemoryChannel), $"rank {_rank}: the communicator was disposed.");
    }
}
