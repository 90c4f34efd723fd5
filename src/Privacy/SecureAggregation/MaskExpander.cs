using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// Adds signed Philox mask streams to a vector modulo 2^32, with the kernels' AVX2 Philox path
/// (<see cref="PhiloxMasking"/>: word k of seed s is lane k % 4 of block k / 4, as <see cref="MaskingOps"/> defines)
/// over blocks of the vector in parallel. Each block walks every stream while the block is in cache.
/// </summary>
internal static class MaskExpander
{
    // 16K words = 64 KiB: fits L2 while every peer's stream is added to it; a multiple of 64 so the 64-word AVX2 step runs.
    private const int BlockWords = 16384;

    /// <summary>target[k] += sum over streams of sign * PRG(seed)[k] (mod 2^32), for k &lt; length.</summary>
    public static void AddMasks(int[] target, int length, MaskPeer[] streams, int maxThreads)
    {
        if (streams.Length == 0 || length == 0) return;
        int blocks = (length + BlockWords - 1) / BlockWords;
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxThreads) }, block =>
        {
            int start = block * BlockWords;
            PhiloxMasking.AddMasks(target, start, Math.Min(BlockWords, length - start), streams);
        });
    }

    public static MaskPeer Stream(Seed128 seed, int sign) => new() { Seed = seed, Sign = sign };
}
