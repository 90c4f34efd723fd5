using System.Runtime.CompilerServices;

namespace AllReduceNet.Kernels;

/// <summary>Four 32-bit words: one Philox counter, or one Philox output block.</summary>
/// <param name="X0">Word 0.</param>
/// <param name="X1">Word 1.</param>
/// <param name="X2">Word 2.</param>
/// <param name="X3">Word 3.</param>
internal readonly record struct UInt4(uint X0, uint X1, uint X2, uint X3);

/// <summary>
/// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel Random Numbers: As Easy as
/// 1, 2, 3" (SC11), as in Random123's <c>philox.h</c>: ten rounds of a multiply-hi/lo Feistel network over a
/// 128-bit counter, keyed by 64 bits that are bumped by the Weyl constants between rounds. Output block = f(counter,
/// key) is a pure function, so any element of a stream is computed independently on any thread: that is why masks and
/// noise use it. Plain static code with no arrays, so ILGPU compiles it into kernels and the CPU path calls it as is.
/// </summary>
internal static class Philox4x32
{
    private const uint M0 = 0xD2511F53u;
    private const uint M1 = 0xCD9E8D57u;
    private const uint W0 = 0x9E3779B9u;
    private const uint W1 = 0xBB67AE85u;

    /// <summary>Computes one Philox4x32-10 block.</summary>
    /// <param name="counter">The 128-bit counter.</param>
    /// <param name="key0">Key word 0.</param>
    /// <param name="key1">Key word 1.</param>
    /// <returns>Four uniformly distributed 32-bit words.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt4 Generate(UInt4 counter, uint key0, uint key1)
    {
        uint c0 = counter.X0, c1 = counter.X1, c2 = counter.X2, c3 = counter.X3;
        uint k0 = key0, k1 = key1;
        // Ten rounds; the key is bumped before every round but the first (Random123's philox4x32_R).
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0;
            uint hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            uint n0 = hi1 ^ c1 ^ k0;
            uint n2 = hi0 ^ c3 ^ k1;
            c0 = n0;
            c1 = lo1;
            c2 = n2;
            c3 = lo0;
        }
        return new UInt4(c0, c1, c2, c3);
    }

    /// <summary>
    /// The block that holds element <paramref name="blockIndex"/>*4 .. *4+3 of the stream named by
    /// <paramref name="seed"/>: counter = (blockIndex low, blockIndex high, seed.W2, seed.W3), key = (seed.W0, seed.W1).
    /// All 128 bits of the seed therefore select the stream.
    /// </summary>
    /// <param name="seed">The 128-bit stream seed.</param>
    /// <param name="blockIndex">Index of the 4-word block in the stream.</param>
    /// <returns>The four words of that block.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt4 StreamBlock(Seed128 seed, long blockIndex) =>
        Generate(new UInt4((uint)blockIndex, (uint)((ulong)blockIndex >> 32), seed.W2, seed.W3), seed.W0, seed.W1);

    /// <summary>Picks word <paramref name="lane"/> (0..3) of a block.</summary>
    /// <param name="block">The block.</param>
    /// <param name="lane">0, 1, 2 or 3; other values select word 3.</param>
    /// <returns>The selected word.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Lane(UInt4 block, int lane) =>
        lane == 0 ? block.X0 : lane == 1 ? block.X1 : lane == 2 ? block.X2 : block.X3;
}
