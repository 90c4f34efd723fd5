using System.Buffers;
using System.Diagnostics;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// An MPI_Isend or MPI_Irecv in flight. Waiting polls MPI_Test until the deadline (never a blocking MPI_Wait, which
/// has no timeout): it spins briefly, then yields, then sleeps a millisecond at a time, so that many ranks on few
/// cores leave each other the CPU. The pin is released in the same step that sees MPI complete the request, and
/// never earlier: until then MPI holds the raw pointer.
/// </summary>
internal sealed unsafe class MpiRequest : Request
{
    private const int SpinPolls = 64;
    private static readonly long YieldTicks = Stopwatch.Frequency / 50; // yield for 20 ms, then sleep
    private static readonly TimeSpan CancelBound = TimeSpan.FromSeconds(2);

    private readonly MpiCommunicator _owner;
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

    public MpiRequest(MpiCommunicator owner, bool isSend, nint handle, long bytes, int peer, int tag, MessageChannel channel, MemoryHandle pin)
    {
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

    internal override string Describe() => _isSend
        ? $"rank {_owner.Rank}: send of {_bytes} bytes to rank {_peer}" + (_channel == MessageChannel.User ? $" (tag {_tag})" : " (collective)")
        : $"rank {_owner.Rank}: receive of up to {_bytes} bytes from {(_peer == Communicator.AnySource ? "any rank" : $"rank {_peer}")}" +
          (_channel == MessageChannel.User ? $" (tag {(_tag == Communicator.AnyTag ? "any" : _tag.ToString())})" : " (collective)");

    /// <summary>
    /// MPI_Cancel, then MPI_Test until MPI completes the request (bounded, since a send may not be cancellable once
    /// the receiver matched it). True when it was cancelled before matching; false when it had completed or matched.
    /// </summary>
    internal override bool TryCancel()
    {
        lock (this)
        {
            if (_completed) return false;
            var mpi = _owner.Library;
            if (mpi.Cancel(_handle) != 0) return false;
            var deadline = Deadline.After(CancelBound);
            while (!deadline.HasPassed)
            {
                if (TestOnce(checkCancelled: true, out bool cancelled))
                    return cancelled;
                Thread.Yield();
            }
            return false;
        }
    }

    /// <summary>One MPI_Test, under the request's lock (MPI forbids two threads testing one request at once).</summary>
    private bool Poll()
    {
        lock (this)
            return _completed || TestOnce(checkCancelled: false, out _);
    }

    /// <summary>Tests once; on completion records the status or error, releases the pin, and returns true.</summary>
    private bool TestOnce(bool checkCancelled, out bool cancelled)
    {
        cancelled = false;
        var mpi = _owner.Library;
        var h = mpi.Handles;
        byte* status = stackalloc byte[MpiHandles.MaxStatusBytes];
        new Span<byte>(status, MpiHandles.MaxStatusBytes).Clear();
        int rc = mpi.Test(ref _handle, out bool done, status);
        if (rc == 0 && !done) return false;
        if (rc != 0 && _handle != h.RequestNull)
        {
            // MPI reported an error without freeing the request: it may still hold the buffer, so the pin stays.
            _error = mpi.Error(rc, $"MPI_Test of the {Describe()}", _owner.Rank);
            _completed = true;
            return true;
        }

        if (checkCancelled && rc == 0 && mpi.TestCancelled(status, out cancelled) == 0 && cancelled)
            _error = new OperationCanceledException($"{Describe()} was withdrawn (MPI_Cancel).");
        else if (!_isSend)
            RecordReceive(mpi, status, rc);
        else if (rc != 0)
            _error = mpi.Error(rc, $"the {Describe()}", _owner.Rank);

        _pin.Dispose();
        _pin = default;
        _completed = true;
        return true;
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
