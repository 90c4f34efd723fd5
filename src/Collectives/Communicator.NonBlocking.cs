using System.Buffers;
using System.Numerics;

namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    private CollectiveQueue? _queue;
    private readonly object _queueGate = new();

    /// <summary>
    /// Starts an AllReduce in place and returns at once; the reduction runs on the communicator's progress thread,
    /// so computation can go on meanwhile (as DDP overlaps the backward pass with gradient buckets). Collectives,
    /// started or blocking, run in call order. <paramref name="data"/> must not be touched until the handle completes.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The communicator was disposed.</exception>
    public CollectiveHandle StartAllReduce<T>(Memory<T> data, ReduceOp op, CollectiveOptions? options = null) where T : unmanaged, INumber<T> =>
        Start($"AllReduce of {data.Length} x {ElementTypes.NameOf<T>()} with {op}", data, options,
            (comm, p, n) => comm.AllReduceCore((T*)p, (T*)p, n, op, options ?? CollectiveOptions.Default));

    /// <summary>Starts an in-place ReduceScatter (see <see cref="ReduceScatter{T}(Span{T}, ReduceOp, CollectiveOptions?)"/>) and returns at once.</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of the rank count.</exception>
    public CollectiveHandle StartReduceScatter<T>(Memory<T> buffer, ReduceOp op, CollectiveOptions? options = null) where T : unmanaged, INumber<T>
    {
        if (buffer.Length % Size != 0)
            ThrowHelper.Argument(nameof(buffer), $"rank {Rank}: ReduceScatter needs N x k elements; {buffer.Length} is not a multiple of {Size} ranks.");
        return Start($"ReduceScatter of {buffer.Length} x {ElementTypes.NameOf<T>()} with {op}", buffer, options,
            (comm, p, n) => comm.ReduceScatterCore((T*)p, null, n / comm.Size, op, options ?? CollectiveOptions.Default));
    }

    /// <summary>Starts an in-place AllGather (see <see cref="AllGather{T}(Span{T}, CollectiveOptions?)"/>) and returns at once.</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of the rank count.</exception>
    public CollectiveHandle StartAllGather<T>(Memory<T> buffer, CollectiveOptions? options = null) where T : unmanaged
    {
        if (buffer.Length % Size != 0)
            ThrowHelper.Argument(nameof(buffer), $"rank {Rank}: an in-place AllGather needs N x k elements; {buffer.Length} is not a multiple of {Size} ranks.");
        return Start($"AllGather of {buffer.Length} x {ElementTypes.NameOf<T>()}", buffer, options,
            (comm, p, n) => comm.AllGatherInPlace(new Span<T>((void*)p, (int)n), n / comm.Size, options ?? CollectiveOptions.Default));
    }

    /// <summary>Starts a Broadcast from <paramref name="root"/> and returns at once.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The root is not a rank of this communicator.</exception>
    public CollectiveHandle StartBroadcast<T>(Memory<T> data, int root, CollectiveOptions? options = null) where T : unmanaged
    {
        ThrowHelper.CheckRank(root, Size, nameof(root), Rank);
        return Start($"Broadcast of {data.Length} x {ElementTypes.NameOf<T>()} from rank {root}", data, options,
            (comm, p, n) => comm.Broadcast(new Span<T>((void*)p, (int)n), root, options));
    }

    private CollectiveHandle Start<T>(string what, Memory<T> data, CollectiveOptions? options, Action<Communicator, nint, long> run) where T : unmanaged
    {
        ThrowIfDisposed();
        var handle = new CollectiveHandle($"rank {Rank}: {what}", options?.Timeout ?? DefaultTimeout);
        MemoryHandle pin = data.Pin();
        nint pointer = (nint)pin.Pointer;
        long length = data.Length;
        Queue.Enqueue(handle, () =>
        {
            try { run(this, pointer, length); }
            finally { pin.Dispose(); }
        });
        return handle;
    }

    private CollectiveQueue Queue
    {
        get
        {
            if (_queue is { } q) return q;
            lock (_queueGate) return _queue ??= new CollectiveQueue($"allreducenet progress (rank {Rank})");
        }
    }

    /// <summary>Before a blocking collective: let the started ones finish first, so the order is the same everywhere.</summary>
    internal void WaitForStartedCollectives(Deadline deadline, TimeSpan timeout)
    {
        var queue = _queue;
        if (queue is null || queue.IsProgressThread) return;
        if (!queue.WaitUntilIdle(deadline))
            throw new CommunicationTimeoutException($"rank {Rank}: a blocking collective waited {timeout} for the collectives started before it to finish.");
    }

    private void DisposeQueue() => _queue?.Dispose();
}
