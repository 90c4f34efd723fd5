namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>The in-process group's <see cref="IPeerBuffers"/>: its threads read each other's memory directly.</summary>
internal sealed unsafe class PeerBufferBoard : IPeerBuffers
{
    private readonly InProcessGroup? _group;
    private readonly nint[] _buffers;
    private readonly long[] _counts;
    private readonly int[] _retracted;
    private int _reading;

    public PeerBufferBoard(int size, InProcessGroup? group = null)
    {
        _group = group;
        _buffers = new nint[size];
        _counts = new long[size];
        _retracted = new int[size];
    }

    // The collective's barriers (locks in the mailboxes) order these writes before any peer's reads.
    public void Publish(int rank, void* buffer, long count)
    {
        _buffers[rank] = (nint)buffer;
        _counts[rank] = count;
        Volatile.Write(ref _retracted[rank], 0);
    }

    public void Retract(int rank)
    {
        Volatile.Write(ref _retracted[rank], 1);
        Interlocked.MemoryBarrier();   // taken down before this rank reads the count of readers (store-load order)
    }

    public bool IsRetracted(int rank) => Volatile.Read(ref _retracted[rank]) != 0;

    public void* Buffer(int rank) => (void*)_buffers[rank];

    public long Count(int rank) => _counts[rank];

    public void EnterReading() => Interlocked.Increment(ref _reading);

    public void LeaveReading() => Interlocked.Decrement(ref _reading);

    public bool WaitUntilNoneReading(Deadline deadline)
    {
        // Readers run memory loops or wait in barriers whose own deadlines (or an abort) end them.
        var spinner = new SpinWait();
        while (Volatile.Read(ref _reading) != 0)
        {
            if (deadline.HasPassed) return false;
            spinner.SpinOnce();
        }
        return true;
    }

    public void Abort(int rank, Exception error)
    {
        if (_group is not null) _group.World.Abort(_group.WorldRanks[rank], error);
    }
}
