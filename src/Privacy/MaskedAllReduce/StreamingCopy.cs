using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Privacy;

/// <summary>
/// The receive operator of the masked ring's all-gather on large vectors: target = source, written with
/// non-temporal (streaming) stores. The all-gather's target is a region this rank last touched a whole chunk earlier,
/// long gone from the caches, and an ordinary store first reads each line from memory (to own it) only to overwrite
/// all of it; a streaming store writes whole lines without reading them: one stream over memory instead of two
/// (benchmarks/RESULTS-federated.md, "maskspeed 6"). It has the transport's receive-reduce shape (target, source,
/// bytes), so the transport hands it the sender's memory, as it does the reduce-scatter's adds.
/// </summary>
internal static unsafe class StreamingCopy
{
    /// <summary>Below this many bytes a block is copied with ordinary stores: too few whole lines to matter.</summary>
    private const long MinimumBytes = 1024;

    /// <summary>The operator.</summary>
    public static delegate*<void*, void*, long, void> Operator => &Run;

    private static void Run(void* target, void* source, long bytes)
    {
        byte* t = (byte*)target, s = (byte*)source;
        int width = Avx512F.IsSupported ? 64 : Avx.IsSupported ? 32 : 0;
        if (width == 0 || bytes < MinimumBytes)
        {
            Buffer.MemoryCopy(s, t, bytes, bytes);
            return;
        }
        // Ordinary stores up to the target's first aligned address, streaming stores (which need alignment) after it.
        long head = (width - ((nint)t & (width - 1))) & (width - 1);
        Buffer.MemoryCopy(s, t, head, head);
        long i = head;
        if (width == 64)
            for (; i + 64 <= bytes; i += 64)
                Avx512F.StoreAlignedNonTemporal((uint*)(t + i), Vector512.Load((uint*)(s + i)));
        else
            for (; i + 32 <= bytes; i += 32)
                Avx.StoreAlignedNonTemporal((uint*)(t + i), Vector256.Load((uint*)(s + i)));
        Buffer.MemoryCopy(s + i, t + i, bytes - i, bytes - i);
        // Streaming stores are weakly ordered: they must be visible before the transport marks the receive complete.
        Sse.StoreFence();
    }
}
