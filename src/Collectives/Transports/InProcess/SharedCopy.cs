namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>
/// One copy or reduction between two ranks' buffers, cut into blocks that any waiting thread of the world may take.
/// <para>
/// Why: a transfer is done by whichever rank arrives second. In a ring of two, the later rank found its peer's sends
/// and receives both posted and did every copy and reduction of the step alone while the peer spun on an idle core:
/// half the machine unused at exactly the sizes (256 KiB to 2 MiB) where the in-process ring fell behind the MPI
/// transport, whose ranks each copy their own half. Now the spinning peer takes blocks of the same transfer.
/// </para>
/// <para>
/// Protocol (a Dekker handshake): the runner publishes the transfer by opening it, takes blocks until none are left,
/// closes it, then waits until no helper is inside. A helper registers first and looks at <c>_open</c> only after,
/// so either the runner sees the helper and waits for it, or the helper sees the transfer closed and touches nothing.
/// The fields of a transfer are written before it opens and are read by helpers only after they saw it open.
/// </para>
/// </summary>
internal sealed unsafe class SharedCopy
{
    /// <summary>Bytes per block: large enough that taking one (an interlocked add on a shared line) is a small part of the work.</summary>
    internal const long BlockBytes = 32 << 10;

    private int _inUse;            // 1 while a runner owns this slot
    private volatile bool _open;   // blocks may be taken
    private int _helpers;          // helpers between registering and leaving
    private long _nextBlock;
    private long _blocks;
    private byte* _target;
    private byte* _source;
    private long _bytes;
    private delegate*<void*, void*, long, void> _reduce;
    private Exception? _error;     // the first block that threw (a reduction can: decimal overflows), for the runner

    /// <summary>Claims the slot for one transfer; false when another thread runs one in it.</summary>
    public bool TryAcquire() => Interlocked.CompareExchange(ref _inUse, 1, 0) == 0;

    /// <summary>
    /// Copies (or, with <paramref name="reduce"/>, reduces) <paramref name="bytes"/> from source into target with any
    /// helpers that come, returns when every block is done, and frees the slot. Each element is reduced exactly once, so
    /// the result does not depend on who did which block; the blocks are whole multiples of the element size as long
    /// as that is a power of two up to 32 KiB (receive-reduce is only used for such types: see CollectiveCall.ReducesOnReceive). If a
    /// block throws, no further block is taken, every helper has left before the slot is freed, and the first error
    /// is thrown here.
    /// </summary>
    public void Run(byte* target, byte* source, long bytes, delegate*<void*, void*, long, void> reduce)
    {
        _target = target;
        _source = source;
        _bytes = bytes;
        _reduce = reduce;
        _error = null;
        _blocks = (bytes + BlockBytes - 1) / BlockBytes;
        Volatile.Write(ref _nextBlock, 0);
        _open = true;
        try
        {
            while (TakeBlock()) { }
        }
        catch (Exception error)
        {
            Interlocked.CompareExchange(ref _error, error, null);
            Volatile.Write(ref _nextBlock, _blocks);   // no one takes another block of a failed transfer
        }
        finally
        {
            _open = false;
            Interlocked.MemoryBarrier();   // the close must be visible before _helpers is read (store-load order)
            var spinner = new SpinWait();
            while (Volatile.Read(ref _helpers) != 0) spinner.SpinOnce(sleep1Threshold: -1);
        }
        var failed = _error;
        _error = null;
        Volatile.Write(ref _inUse, 0);
        if (failed is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed);
    }

    /// <summary>Takes blocks of the open transfer, if there is one, until none are left; true when it did any.</summary>
    public bool Help()
    {
        if (!_open) return false;
        Interlocked.Increment(ref _helpers);
        bool worked = false;
        try
        {
            if (_open)
                while (TakeBlock()) worked = true;
        }
        catch (Exception error)
        {
            // The runner reports it; a helper's own wait has nothing to do with this transfer.
            Interlocked.CompareExchange(ref _error, error, null);
            Volatile.Write(ref _nextBlock, _blocks);
        }
        finally
        {
            Interlocked.Decrement(ref _helpers);
        }
        return worked;
    }

    private bool TakeBlock()
    {
        long block = Interlocked.Increment(ref _nextBlock) - 1;
        if (block >= _blocks) return false;
        long offset = block * BlockBytes;
        long length = Math.Min(BlockBytes, _bytes - offset);
        if (_reduce != null) _reduce(_target + offset, _source + offset, length);
        else System.Buffer.MemoryCopy(_source + offset, _target + offset, length, length);
        return true;
    }
}
