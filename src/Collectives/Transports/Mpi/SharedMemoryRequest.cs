using System.Diagnostics;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// A collective send or receive on the node's <see cref="SharedMemoryChannel"/>. Waiting drives the channel (every
/// queue of this rank moves, not only this request's): it spins first, since the peer is usually a few microseconds
/// away, then yields the core, and after a second of yielding sleeps a millisecond at a time. With more ranks than
/// cores it yields at once, so that the rank it waits for can run.
/// </summary>
internal sealed unsafe class SharedMemoryRequest : Request
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000;   // 50 us
    private static readonly long YieldTicks = Stopwatch.Frequency;           // 1 s

    private readonly SharedMemoryChannel _channel;
    private readonly int _rank;
    private volatile bool _completed;
    private MessageStatus _status;
    private long _peerCount;
    private Exception? _error;
    private bool _withdrawn;
    private byte* _ownedCopy;        // a detached send's remaining bytes, owned by the channel until the send ends

    internal bool IsSend;
    internal byte* Buffer;
    internal long Bytes;             // bytes to send, or the receive's capacity
    internal int Peer;
    internal int Tag;                // the send's tag; a receive-reduce's expected tag (AnyTag for a plain receive)
    internal long CollectiveCount;   // the send's collective count
    internal delegate*<void*, void*, long, void> Reduce;
    // Progress of the transfer, kept by the channel.
    internal long Offset;
    internal bool Started;
    internal long MessageBytes;
    internal int MessageTag;
    internal long PeerCount;
    internal bool Discard;

    public SharedMemoryRequest(SharedMemoryChannel channel, int rank)
    {
        _channel = channel;
        _rank = rank;
    }

    internal SharedMemoryRequest Init(bool isSend, byte* buffer, long bytes, int peer, int tag, long collectiveCount,
        delegate*<void*, void*, long, void> reduce)
    {
        IsSend = isSend;
        Buffer = buffer;
        Bytes = bytes;
        Peer = peer;
        Tag = tag;
        CollectiveCount = collectiveCount;
        Reduce = reduce;
        Offset = 0;
        Started = false;
        MessageBytes = 0;
        MessageTag = 0;
        PeerCount = -1;
        Discard = false;
        _status = default;
        _peerCount = -1;
        _error = null;
        _withdrawn = false;
        _ownedCopy = null;
        _completed = false;
        return this;
    }

    public override bool IsCompleted
    {
        get
        {
            if (!_completed) _channel.Progress();
            return _completed;
        }
    }

    public override MessageStatus Status => _status;

    internal override TimeSpan DefaultTimeout => _channel.Owner.DefaultTimeout;

    internal override long PeerCollectiveCount => _peerCount;

    /// <summary>True once the transfer ended, without driving the channel (for the channel itself, under its lock).</summary>
    internal bool IsDone => _completed;

    /// <summary>True when the caller withdrew it: the channel may still be draining it, so it never goes back to the pool.</summary>
    internal bool IsWithdrawn => _withdrawn;

    /// <summary>Set by the channel, under its lock, when it let the caller withdraw this request.</summary>
    internal void MarkWithdrawn() => _withdrawn = true;

    /// <summary>
    /// Cuts a started transfer loose from the caller's memory (under the channel's lock): a receive drains the rest
    /// of its message unused; a send goes on from a copy of its remaining bytes.
    /// </summary>
    internal void Detach()
    {
        if (IsSend)
        {
            long rest = Bytes - Offset;
            _ownedCopy = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(1, rest));
            System.Buffer.MemoryCopy(Buffer + Offset, _ownedCopy, rest, rest);
            Buffer = _ownedCopy - Offset; // so that Buffer + Offset, as the channel reads it, is the copy
        }
        else
        {
            Discard = true;
            Buffer = null;
            Reduce = null;
        }
    }

    internal void Complete(long bytes, int tag, long peerCount, Exception? error)
    {
        if (_ownedCopy != null)
        {
            System.Runtime.InteropServices.NativeMemory.Free(_ownedCopy);
            _ownedCopy = null;
        }
        if (_withdrawn) return; // the caller was told already
        _status = new MessageStatus(IsSend ? _rank : Peer, tag, bytes);
        _peerCount = peerCount;
        _error = error;
        _completed = true; // last: publishes the status to a thread that polls IsCompleted
    }

    internal override bool WaitCore(Deadline deadline)
    {
        if (_completed) return true;
        long start = Stopwatch.GetTimestamp();
        long spinUntil = _channel.Oversubscribed ? start : start + SpinTicks;
        while (true)
        {
            _channel.Progress();
            if (_completed) return true;
            if (deadline.HasPassed) return false;
            long now = Stopwatch.GetTimestamp();
            if (now < spinUntil) Thread.SpinWait(16);
            else if (now - start < YieldTicks) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    internal override void ThrowIfFailed()
    {
        if (_error is not null) throw _error;
    }

    internal override string Describe() => IsSend
        ? $"rank {_rank}: send of {Bytes} bytes to rank {Peer} (collective, shared memory)"
        : $"rank {_rank}: receive of up to {Bytes} bytes from rank {Peer} (collective, shared memory)";

    internal override bool TryCancel()
    {
        if (!_channel.TryWithdraw(this)) return false;
        _error = new OperationCanceledException($"{Describe()} was withdrawn.");
        _status = default;
        _completed = true;
        return true;
    }
}
