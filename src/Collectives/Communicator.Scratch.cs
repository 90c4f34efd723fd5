using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives;

public abstract unsafe partial class Communicator
{
    private byte* _scratch;
    private nuint _scratchBytes;

    /// <summary>
    /// Native, 64-byte aligned working memory for the collective in progress (received segments waiting to be
    /// reduced, a non-root's partial sums). It grows to the largest need and is kept, so steady-state calls allocate
    /// nothing; collectives of one communicator run one at a time, so one block suffices.
    /// </summary>
    internal byte* Scratch(long bytes)
    {
        if ((ulong)bytes > _scratchBytes)
        {
            nuint size = (nuint)Math.Max(bytes, 4096);
            NativeMemory.AlignedFree(_scratch);
            _scratch = null;
            _scratchBytes = 0;
            _scratch = (byte*)NativeMemory.AlignedAlloc(size, 64);
            _scratchBytes = size;
        }
        return _scratch;
    }

    private void FreeScratch()
    {
        NativeMemory.AlignedFree(_scratch);
        _scratch = null;
        _scratchBytes = 0;
    }
}
