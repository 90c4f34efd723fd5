using System.Buffers;
using System.Diagnostics;

namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>
/// A send or receive between threads. The transfer is single-copy: whichever side arrives second copies straight from
/// the sender's buffer into the receiver's, then completes both; with a core per rank, ranks spinning in a wait take
/// blocks of it (<see cref="SharedCopy"/>), so the side that arrived first is not idle meanwhile. (Leaving every
/// transfer to the receiving rank was tried and measured: it balanced the work at 2 to 4 MiB but added a hand-off to
/// every step, and 64 to 256 KiB took twice as long.) Waiting spins briefly and then blocks on the request's monitor, so many ranks on few cores do not
/// burn them.
/// </summary>
internal sealed unsafe class InProcessRequest : Request, IReceiveLoan
{
    internal readonly InProcessTransport Owner;
    internal bool IsSend;
    internal byte* Buffer;                 // for an eager send, the staged copy once the sender's buffer was released
    internal long Bytes;                   // bytes to send, or the receive's capacity
    internal int Peer;                     // destination of a send; source (or AnySource) of a receive
    internal int Tag;                      // tag of a send; tag (or AnyTag) of a receive
    internal MessageChannel Channel;
    internal long CollectiveCount;

    /// <summary>For a receive-reduce: applied to (this buffer, the sender's buffer) instead of a copy.</summary>
    internal delegate*<void*, void*, long, void> Reduce;
    /// <summary>For a receive-reduce: the signature a message must carry to be reduced (it matches any tag, to report the mismatch).</summary>
    internal int ReduceTag;
    /// <summary>For a receive: lend the receiver the sender's buffer instead of copying (<see cref="IReceiveLoan"/>).</summary>
    internal bool Borrows;
    /// <summary>For a send: a borrowing receive may read and write its buffer until the loan is returned, so it is never staged.</summary>
    internal bool Lends;
    /// <summary>For a lending receive: the matched send, incomplete until the receiver returns the loan.</summary>
    private InProcessRequest? _lender;
    private MemoryHandle _pin;
    private bool _staged;

    private volatile bool _completed;
    private volatile bool _released;       // the transfer is over and touches this object no more: it may be reused
    private int _blockedWaiters;
    private MessageStatus _status;
    private Exception? _error;
    private long _peerCollectiveCount = -1;

    public InProcessRequest(InProcessTransport owner) => Owner = owner;

    /// <summary>Sets the request up for one transfer; also how a pooled collective request is reused.</summary>
    public InProcessRequest Init(bool isSend, byte* buffer, long bytes, int peer, int tag, MessageChannel channel,
        MemoryHandle pin, long collectiveCount, delegate*<void*, void*, long, void> reduce = null)
    {
        IsSend = isSend;
        Buffer = buffer;
        Bytes = bytes;
        Peer = peer;
        Tag = tag;
        Channel = channel;
        _pin = pin;
        CollectiveCount = collectiveCount;
        Reduce = reduce;
        Borrows = false;
        Lends = false;
        _lender = null;
        _staged = false;
        _blockedWaiters = 0;
        _error = null;
        _peerCollectiveCount = -1;
        _status = isSend ? new MessageStatus(Owner.Rank, tag, bytes) : default;
        _released = false;
        _completed = false;
        return this;
    }

    /// <summary>True once the transfer is finished with this object, so a pool may hand it out again.</summary>
    internal bool IsReleased => _released;

    public override bool IsCompleted => _completed;

    public override MessageStatus Status => _status;

    internal override TimeSpan DefaultTimeout => Owner.DefaultTimeout;

    internal override long PeerCollectiveCount => _peerCollectiveCount;

    /// <summary>Does a posted receive take this send? MPI's matching rule: same channel, source and tag or wildcards.</summary>
    internal bool Matches(InProcessRequest send, int senderRank) =>
        Channel == send.Channel
        && (Peer == Communicator.AnySource || Peer == senderRank)
        && (Tag == Communicator.AnyTag || Tag == send.Tag);

    /// <summary>Messages up to this size are sent eagerly: copied aside so the sender goes on before a receive is posted.</summary>
    internal const long EagerLimitBytes = 8 * 1024;

    /// <summary>
    /// Copies a small unmatched send aside and completes it, as MPI libraries do below their eager limit, so that
    /// code which sends a few small messages before receiving (legal but unsafe MPI) does not stall. Called under
    /// the mailbox lock, before the send becomes visible to receivers.
    /// </summary>
    internal void StageEagerly()
    {
        byte* copy = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(1, Bytes));
        System.Buffer.MemoryCopy(Buffer, copy, Bytes, Bytes);
        Buffer = copy;
        _staged = true;
    }

    /// <summary>Copies a matched send into a receive and completes both. Runs outside every lock.</summary>
    internal static void Transfer(InProcessRequest send, InProcessRequest receive)
    {
        if (receive.Borrows)
        {
            Lend(send, receive);
            return;
        }
        long copied = Math.Min(send.Bytes, receive.Bytes);
        // Single pass, straight from the sender's buffer; for a receive-reduce a message of another length or signature
        // reduces nothing (the buffer stays as it was) and is reported by the algorithm from the status below.
        var reduce = receive.Reduce;
        if (reduce != null && (send.Bytes != receive.Bytes || send.Tag != receive.ReduceTag)) copied = 0;
        try
        {
            if (copied >= 2 * SharedCopy.BlockBytes && send.Owner.World.TryRentCopy() is { } shared)
                shared.Run(receive.Buffer, send.Buffer, copied, reduce);
            else if (reduce != null && copied > 0)
                reduce(receive.Buffer, send.Buffer, copied);
            else if (copied > 0)
                System.Buffer.MemoryCopy(send.Buffer, receive.Buffer, receive.Bytes, copied);
        }
        catch (Exception error)
        {
            // A reduction can throw (decimal overflows). Both sides learn it from their wait; neither is left waiting
            // for a transfer that will never finish.
            var failure = new CollectiveException(
                $"rank {receive.Owner.Rank}: reducing {copied} bytes received from rank {send.Owner.Rank} into this rank's buffer failed: {error.GetType().Name}: {error.Message}", error);
            receive._error = failure;
            send._error = failure;
        }
        send.FreeStagedCopy();
        receive._status = new MessageStatus(send.Owner.Rank, send.Tag, send.Bytes);
        receive._peerCollectiveCount = send.CollectiveCount;
        // A longer message than the buffer is an error on a user receive; on the collective channel the byte count
        // is compared by the algorithm, which names both ranks' counts.
        if (send.Bytes > receive.Bytes && receive.Channel == MessageChannel.User)
            receive._error = new CollectiveMismatchException(
                $"rank {receive.Owner.Rank}: a message of {send.Bytes} bytes from rank {send.Owner.Rank} (tag {send.Tag}) is longer than the {receive.Bytes}-byte receive buffer; {copied} bytes were kept.");
        send.Complete();
        receive.Complete();
        send._released = true;
        receive._released = true;
    }

    /// <summary>
    /// Matches a send with a lending receive: nothing is read here (this may run on the sender's thread); the receive
    /// completes holding the send, which completes when the receiver returns the loan. A message of another length is
    /// not lent: both complete at once and the receive's status tells the length. Runs outside every lock. A lent send
    /// counts as a matched transfer until it is returned: <see cref="TryCancel"/> on it waits (bounded) for the return.
    /// </summary>
    private static void Lend(InProcessRequest send, InProcessRequest receive)
    {
        receive._status = new MessageStatus(send.Owner.Rank, send.Tag, send.Bytes);
        bool lent = send.Bytes == receive.Bytes;
        if (lent) receive._lender = send;   // written before Complete's volatile write, so a waiter that sees it complete sees the lender
        receive.Complete();
        receive._released = true;
        if (!lent) EndLoan(send);
    }

    Request IReceiveLoan.Request => this;

    void* IReceiveLoan.Payload => _completed && _lender is { } send ? send.Buffer : null;

    bool IReceiveLoan.Writable => _completed && _lender is { Lends: true };

    void IReceiveLoan.Return()
    {
        if (Interlocked.Exchange(ref _lender, null) is { } send) EndLoan(send);
    }

    /// <summary>The receiver is done with a lent send's buffer: free an eager copy, complete the send.</summary>
    private static void EndLoan(InProcessRequest send)
    {
        send.FreeStagedCopy();
        send.Complete();
        send._released = true;
    }

    /// <summary>Frees the copy <see cref="StageEagerly"/> made, once the message has been delivered from it.</summary>
    private void FreeStagedCopy()
    {
        if (!_staged) return;
        System.Runtime.InteropServices.NativeMemory.Free(Buffer);
        Buffer = null;
    }

    internal void Complete()
    {
        if (_completed) return;
        _pin.Dispose();
        _pin = default;
        _completed = true;
        // Dekker-style handshake with WaitCore: the fence orders our write of _completed before the read of
        // _blockedWaiters, as Interlocked.Exchange does on the waiter's side.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _blockedWaiters) != 0)
            lock (this) Monitor.PulseAll(this);
    }

    internal override bool WaitCore(Deadline deadline)
    {
        if (_completed) return true;
        var world = Owner.World;
        var spinner = new SpinWait();
        // With a core per rank, spin (SpinWait backs off to yields by itself); with more ranks than cores, only yield:
        // the rank waited for needs this core, and busy-spinning first cost a third of a small AllReduce (measured
        // at 8 ranks on 2 cores, recursive doubling of 512 B: 28 to 32 us spinning first, 16 to 19 us yielding).
        // Yielding goes on for up to 2 ms (YieldTicks) before the wait blocks: a rank that has to wait for others'
        // turns on the cores does so for hundreds of microseconds at 64 KiB to 8 MiB, and a futex wake-up after
        // each of them made the tree and recursive doubling 1.5x to 3x slower there.
        bool yieldOnly = world.YieldTicks > 0;
        long yieldUntil = yieldOnly ? Stopwatch.GetTimestamp() + world.YieldTicks : 0;
        for (int i = 0; !_completed && (yieldOnly ? Stopwatch.GetTimestamp() < yieldUntil : i < world.SpinIterations); i++)
        {
            if (yieldOnly)
            {
                // A yield may cost a whole time slice when other threads compute: look at the abort and the deadline too.
                if ((i & 63) == 63) world.ThrowIfAborted(Owner.WorldRank);
                if (deadline.HasPassed) break;
                Thread.Yield();
            }
            else if (world.HelpWithCopies())
            {
                // A peer's transfer (often this very one) is under way: take part, and start spinning afresh; helping
                // other transfers must not outlast the deadline or an abort.
                i = 0;
                if (deadline.HasPassed) break;
                world.ThrowIfAborted(Owner.WorldRank);
            }
            else spinner.SpinOnce(sleep1Threshold: -1);
        }
        if (_completed) return true;

        lock (this)
        {
            Interlocked.Exchange(ref _blockedWaiters, 1);
            while (!_completed)
            {
                world.ThrowIfAborted(Owner.WorldRank);
                int ms = deadline.RemainingMilliseconds(InProcessWorld.AbortPollMilliseconds);
                if (ms == 0) return _completed;
                Monitor.Wait(this, ms);
            }
        }
        return true;
    }

    internal override void ThrowIfFailed()
    {
        if (_error is not null) throw _error;
    }

    /// <summary>How long a withdrawal waits for a matched transfer to finish: far above any copy, bounded so nothing hangs.</summary>
    private static readonly long MatchedTransferTicks = Stopwatch.Frequency * 10;

    /// <summary>Waits until the transfer that matched this request is done with its buffer. Aborts are not looked at: the wait is for memory safety.</summary>
    private void WaitForMatchedTransfer()
    {
        long until = Stopwatch.GetTimestamp() + MatchedTransferTicks;
        var spinner = new SpinWait();
        while (!_completed && Stopwatch.GetTimestamp() < until) spinner.SpinOnce();
    }

    internal override string Describe() => IsSend
        ? $"rank {Owner.Rank}: send of {Bytes} bytes to rank {Peer} (tag {Tag})"
        : $"rank {Owner.Rank}: receive of up to {Bytes} bytes from {(Peer == Communicator.AnySource ? "any rank" : $"rank {Peer}")}" +
          (Channel == MessageChannel.User ? $" (tag {(Tag == Communicator.AnyTag ? "any" : Tag.ToString())})" : "");

    internal override bool TryCancel()
    {
        if (_completed) return false;
        if (!Owner.Group.TryWithdraw(this))
        {
            // Matched: a peer's thread is copying into (or out of) this request's buffer at this moment. The caller is
            // about to release that buffer (a failed collective frees its scratch, or leaves a fixed block), so wait
            // for the copy to end; it needs nothing from this rank and is short. Returning at once let a late copy
            // write into freed native memory and corrupt the heap (seen under glibc's MALLOC_CHECK_ in
            // MismatchReleaseTests, and once as a deadlock on a malloc arena lock in CI).
            WaitForMatchedTransfer();
            return false;
        }
        _pin.Dispose();
        _pin = default;
        _error = new OperationCanceledException($"{Describe()} was withdrawn.");
        _completed = true;
        _released = true;
        return true;
    }
}
