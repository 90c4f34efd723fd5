namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>The in-process group's <see cref="IPeerBuffers"/>: its threads read each other's memory directly.</summary>
internal sealed unsafe class PeerBufferBoard : IPeerBuffers
{
    private readonly nint[] _buffers;
    private readonly long[] _counts;
    private int _reading;

    public PeerBufferBoard(int size)
    {
        _buffers = new nint[size];
        _counts = new long[size];
    }

    // The collective's barriers (locks in the mailboxes) order these writes before any peer's reads.
    public void Publish(int rank, void* buffer, long count)
    {
        _buffers[rank] = (nint)buffer;
        _counts[rank] = count;
    }

    public void* Buffer(int rank) => (void*)_buffers[rank];

    public long Count(int rank) => _counts[rank];

    public void EnterReading() => Interlocked.Increment(ref _reading);

    public void LeaveReading() => Interlocked.Decrement(ref _reading);

    public bool WaitUntilNoneReading(Deadline deadline)
    {
        // Readers only run memory loops or wait in a barrier whose own deadline ends them: a short, bounded wait.
        var spinner = new SpinWait();
        while (Volatile.Read(ref _reading) != 0)
        {
            if (deadline.HasPassed) return false;
            spinner.SpinOnce();
        }
        return true;
    }
}
