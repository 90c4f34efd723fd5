using System.Buffers;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// A collective send or receive on the <see cref="SocketChannel"/>: the channel's I/O thread for the peer moves the
/// bytes and completes it. Waiting blocks on the request's monitor (no polling: on a machine with few cores the
/// kernel's TCP path needs the CPU a polling rank would burn), woken by the I/O thread or by the deadline.
/// </summary>
internal sealed unsafe class SocketRequest : Request
{
    private readonly SocketChannel _channel;
    private MemoryHandle _pin;
    private volatile bool _completed;
    private MessageStatus _status;
    private long _peerCount = -1;
    private Exception? _error;

    public SocketRequest(SocketChannel channel, bool isSend, byte* buffer, long bytes, int peer, int tag, long collectiveCount, MemoryHandle pin)
    {
        _channel = channel;
        IsSend = isSend;
        Buffer = buffer;
        Bytes = bytes;
        Peer = peer;
        Tag = tag;
        CollectiveCount = collectiveCount;
        _pin = pin;
        if (isSend) _status = new MessageStatus(channel.Rank, tag, bytes);
    }

    internal bool IsSend { get; }

    internal byte* Buffer { get; }

    /// <summary>Bytes to send, or the receive's capacity.</summary>
    internal long Bytes { get; }

    internal int Peer { get; }

    internal int Tag { get; }

    internal long CollectiveCount { get; }

    public override bool IsCompleted => _completed;

    public override MessageStatus Status => _status;

    internal override long PeerCollectiveCount => _peerCount;

    internal override TimeSpan DefaultTimeout => _channel.Owner.DefaultTimeout;

    internal override bool WaitCore(Deadline deadline)
    {
        if (_completed) return true;
        lock (this)
        {
            while (!_completed)
            {
                if (deadline.HasPassed) return false;
                Monitor.Wait(this, deadline.RemainingMilliseconds(1000));
            }
        }
        return true;
    }

    internal override void ThrowIfFailed()
    {
        if (_error is not null) throw _error;
    }

    internal override string Describe() => IsSend
        ? $"rank {_channel.Rank}: send of {Bytes} bytes to rank {Peer} (collective, TCP to {_channel.EndpointOf(Peer)})"
        : $"rank {_channel.Rank}: receive of up to {Bytes} bytes from rank {Peer} (collective, TCP from {_channel.EndpointOf(Peer)})";

    internal override bool TryCancel() => _channel.TryWithdraw(this);

    /// <summary>Called once, by the I/O thread (or a withdrawal): records the outcome, releases the pin, wakes the waiters.</summary>
    internal void Complete(MessageStatus status, long peerCount, Exception? error)
    {
        lock (this)
        {
            if (_completed) return;   // a connection failure and the I/O thread may both get here
            _status = status;
            _peerCount = peerCount;
            _error = error;
            _pin.Dispose();
            _pin = default;
            _completed = true; // the volatile write publishes the status and error
            Monitor.PulseAll(this);
        }
    }

    /// <summary>Fails the request with <paramref name="error"/>, keeping the status it had.</summary>
    internal void Fail(Exception error) => Complete(_status, _peerCount, error);
}
