using System.Buffers;
using System.Diagnostics;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// An MPI_Isend or MPI_Irecv in flight. Waiting polls MPI_Test until the deadline (a blocking MPI_Wait has no
/// timeout, so it is never used): it spins briefly, then yields, then sleeps a millisecond at a time, so that many ranks on few
/// cores leave each other the CPU. The pin is released in the same step that sees MPI complete the request, and
/// never earlier: until then MPI holds the raw pointer.
/// </summary>
internal sealed unsafe class MpiRequest : Request
{
    private const int SpinPolls = 64;
    // Yield for up to a second before sleeping: a 1 ms sleep in the middle of a large transfer costs more than the
    // transfer of a segment, and under oversubscription a yield already hands the core to the peer.
    private static readonly long YieldTicks = Stopwatch.Frequency;
    private static readonly TimeSpan CancelBound = TimeSpan.FromSeconds(2);

    private readonly MpiTransport _owner;
    private readonly bool _isSend;
    private readonly long _bytes;     // bytes sent, or the receive's capacity
    private readonly int _peer;       // destination, or source (AnySource allowed)
    private readonly int _tag;        // tag, or AnyTag
    private readonly MessageChannel _channel;
    private nint _handle;
    private MemoryHandle _pin;
    private volatile bool _completed;
    private MessageStatus _status;
    private Exception? _error;

    private readonly string? _description;

    /// <summary><paramref name="description"/> names a request that is no point-to-point transfer (a started collective).</summary>
    public MpiRequest(MpiTransport owner, bool isSend, nint handle, long bytes, int peer, int tag, MessageChannel channel, MemoryHandle pin, string? description = null)
    {
        _description = description;
        _owner = owner;
        _isSend = isSend;
        _handle = handle;
        _bytes = bytes;
        _peer = peer;
        _tag = tag;
        _channel = channel;
        _pin = pin;
        if (isSend) _status = new MessageStatus(owner.Rank, tag, bytes);
    }

    /// <summary>True once MPI completed the request; asking drives MPI's progress engine (one MPI_Test).</summary>
    public override bool IsCompleted => _completed || Poll();

    public override MessageStatus Status => _status;

    internal override TimeSpan DefaultTimeout => _owner.DefaultTimeout;

    internal override bool WaitCore(Deadline deadline)
    {
        if (_completed) return true;
        long start = Stopwatch.GetTimestamp();
        for (int polls = 0; ; polls++)
        {
            if (Poll()) return true;
            if (deadline.HasPassed) return false;
            if (polls < SpinPolls) Thread.SpinWait(32);
            else if (Stopwatch.GetTimestamp() - start < YieldTicks) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    internal override void ThrowIfFailed()
    {
        if (_error is not null) throw _error;
    }

    internal override string Describe() => _description is not null ? $"rank {_owner.Rank}: {_description}" : _isSend
        ? $"rank {_owner.Rank}: send of {_bytes} bytes to rank {_peer}" + (_channel == MessageChannel.User ? $" (tag {_tag})" : " (collective)")
        : $"rank {_owner.Rank}: receive of up to {_bytes} bytes from {(_peer == Communicator.AnySource ? "any rank" : $"rank {_peer}")}" +
          (_channel == MessageChannel.User ? $" (tag {(_tag == Communicator.AnyTag ? "any" : _tag.ToString())})" : " (collective)");

    /// <summary>
    /// MPI_Cancel, then completes the request so that its buffer is free, polling MPI_Test for a bounded time: some
    /// libraries cannot cancel a send and would then complete it only when a receiver matches it, and a receive that
    /// matched a message whose sender is cut off never completes. True when it was cancelled before matching; false
    /// when it had completed or matched (or did not finish within the bound: it stays pending, pinned).
    /// </summary>
    internal override bool TryCancel()
    {
        lock (this)
        {
            if (_completed) return false;
            var mpi = _owner.Library;
            if (mpi.Cancel(_handle) != 0) return false;
            byte* status = stackalloc byte[MpiHandles.MaxStatusBytes];
            new Span<byte>(status, MpiHandles.MaxStatusBytes).Clear();
            // A receive too is polled for a bounded time, not MPI_Wait'ed: a receive that already matched a message
            // cannot be cancelled, and when the link to its sender is cut mid-message (Open MPI's ob1 over TCP) the
            // rest never arrives, so MPI_Wait would block for ever (seen with the link cut in tests/.../LinkFaultTests).
            var deadline = Deadline.After(CancelBound);
            while (!deadline.HasPassed)
            {
                int rc = mpi.Test(ref _handle, out bool done, status);
                if (rc != 0 || done) return Finish(mpi, rc, status, checkCancelled: true);
                Thread.Yield();
            }
            return false;
        }
    }

    /// <summary>One MPI_Test, under the request's lock (MPI forbids two threads testing one request at once).</summary>
    private bool Poll()
    {
        lock (this)
        {
            if (_completed) return true;
            var mpi = _owner.Library;
            byte* status = stackalloc byte[MpiHandles.MaxStatusBytes];
            new Span<byte>(status, MpiHandles.MaxStatusBytes).Clear();
            int rc = mpi.Test(ref _handle, out bool done, status);
            if (rc == 0 && !done) return false;
            Finish(mpi, rc, status, checkCancelled: false);
            return true;
        }
    }

    /// <summary>
    /// Records how MPI completed the request (status, or error) and releases the pin. Returns true when
    /// <paramref name="checkCancelled"/> and MPI_Test_cancelled says the request was cancelled.
    /// </summary>
    private bool Finish(MpiLibrary mpi, int rc, byte* status, bool checkCancelled)
    {
        if (rc != 0 && _handle != mpi.Handles.RequestNull)
        {
            // MPI reported an error without freeing the request: it may still hold the buffer, so the pin stays.
            _error = mpi.Error(rc, $"completing the {Describe()}", _owner.Rank);
            _completed = true;
            return false;
        }
        bool cancelled = false;
        if (checkCancelled && rc == 0 && mpi.TestCancelled(status, out cancelled) == 0 && cancelled)
            _error = new OperationCanceledException($"{Describe()} was withdrawn (MPI_Cancel).");
        else if (!_isSend)
            RecordReceive(mpi, status, rc);
        else if (rc != 0)
            _error = mpi.Error(rc, $"the {Describe()}", _owner.Rank);
        _pin.Dispose();
        _pin = default;
        _completed = true; // last: the volatile write publishes the status and error to other threads
        return cancelled;
    }

    private void RecordReceive(MpiLibrary mpi, byte* status, int rc)
    {
        var h = mpi.Handles;
        int source = *(int*)(status + h.StatusSourceOffset);
        int tag = *(int*)(status + h.StatusTagOffset);
        long bytes = mpi.GetByteCount(status, out int count) == 0 && count != h.Undefined ? count : _bytes;
        _status = new MessageStatus(source, tag, bytes);
        if (rc == 0) return;
        if (mpi.ErrorClass(rc) == h.ErrTruncate)
            _error = new CollectiveMismatchException(_channel == MessageChannel.User
                ? $"rank {_owner.Rank}: a message from rank {source} (tag {tag}) is longer than the {_bytes}-byte receive buffer (MPI_ERR_TRUNCATE from {mpi.ShortName})."
                : $"rank {_owner.Rank}: a collective message from rank {source} is longer than the {_bytes} bytes this rank expected (MPI_ERR_TRUNCATE from {mpi.ShortName}): " +
                  "the ranks passed different counts to the same collective, or called different collectives.");
        else
            _error = mpi.Error(rc, $"the {Describe()}", _owner.Rank);
    }
}
