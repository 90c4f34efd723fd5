using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives;

/// <summary>
/// Native, 64-byte aligned working memory for the collective in progress, in two regions: the receive slots of the
/// primitives (segments waiting to be reduced) and a work area for an algorithm's own copy of the data (a non-root's
/// partial sums, a ReduceScatter's input). Each grows to the largest need and is kept, so steady-state calls allocate
/// nothing; the collectives of one communicator run one at a time, so one of each suffices.
/// </summary>
internal sealed unsafe class ScratchMemory : IDisposable
{
    public enum Region { Slots = 0, Work = 1, ReproducibleSum = 2 }

    private readonly byte*[] _blocks = new byte*[3];
    private readonly nuint[] _sizes = new nuint[3];

    public byte* Get(Region region, long bytes)
    {
        int i = (int)region;
        if ((ulong)bytes > _sizes[i])
        {
            nuint size = (nuint)Math.Max(bytes, 4096);
            NativeMemory.AlignedFree(_blocks[i]);
            _blocks[i] = null;
            _sizes[i] = 0;
            _blocks[i] = (byte*)NativeMemory.AlignedAlloc(size, 64);
            _sizes[i] = size;
        }
        return _blocks[i];
    }

    public void Dispose()
    {
        for (int i = 0; i < _blocks.Length; i++)
        {
            NativeMemory.AlignedFree(_blocks[i]);
            _blocks[i] = null;
            _sizes[i] = 0;
        }
    }
}
