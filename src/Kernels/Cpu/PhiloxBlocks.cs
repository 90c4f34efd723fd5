using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Philox4x32-10 blocks computed several at a time with AVX-512 or AVX2, returned as the stream's words in element
/// order (element k of a stream is word k % 4 of block k / 4, <see cref="Philox4x32.StreamBlock"/>). One block runs per
/// 64-bit lane (vpmuludq gives the 32x32-&gt;64 products), and four independent chains are interleaved: one round is a
/// multiply, a shift and two xors in sequence (~6 cycles of latency), so a single chain leaves the vector units idle.
/// The words are identical to <see cref="Philox4x32.Generate"/>'s, which callers use for the ragged ends. Shared by
/// the masks of secure aggregation (<see cref="PhiloxMasking"/>) and the Gaussian noise of DP-SGD (<see cref="GaussianNoise"/>).
/// </summary>
internal static class PhiloxBlocks
{
    private const ulong M0 = 0xD2511F53ul, M1 = 0xCD9E8D57ul;
    private const uint Weyl0 = 0x9E3779B9u, Weyl1 = 0xBB67AE85u;

    /// <summary>Words 4·firstBlock .. 4·firstBlock+127 of <paramref name="seed"/>'s stream (32 blocks, four chains of eight
    /// 512-bit lanes), sixteen per vector in element order. Requires <see cref="Avx512F"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Words512x4(Seed128 seed, ulong firstBlock,
        out Vector512<uint> w0, out Vector512<uint> w1, out Vector512<uint> w2, out Vector512<uint> w3,
        out Vector512<uint> w4, out Vector512<uint> w5, out Vector512<uint> w6, out Vector512<uint> w7)
    {
        var lowMask = Vector512.Create(0xFFFFFFFFul);
        var s2 = Vector512.Create((ulong)seed.W2);
        var s3 = Vector512.Create((ulong)seed.W3);
        Vector512<ulong> blocks = Vector512.Create(firstBlock) + Vector512.Create(0ul, 1, 2, 3, 4, 5, 6, 7);
        Vector512<ulong> a0 = blocks & lowMask, a1 = blocks >>> 32, a2 = s2, a3 = s3;
        blocks += Vector512.Create(8ul);
        Vector512<ulong> d0 = blocks & lowMask, d1 = blocks >>> 32, d2 = s2, d3 = s3;
        blocks += Vector512.Create(8ul);
        Vector512<ulong> e0 = blocks & lowMask, e1 = blocks >>> 32, e2 = s2, e3 = s3;
        blocks += Vector512.Create(8ul);
        Vector512<ulong> f0 = blocks & lowMask, f1 = blocks >>> 32, f2 = s2, f3 = s3;
        uint k0 = seed.W0, k1 = seed.W1;
        var m0 = Vector512.Create(M0).AsUInt32();
        var m1 = Vector512.Create(M1).AsUInt32();
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += Weyl0;
                k1 += Weyl1;
            }
            var kk0 = Vector512.Create((ulong)k0);
            var kk1 = Vector512.Create((ulong)k1);
            Vector512<ulong> pa0 = Avx512F.Multiply(a0.AsUInt32(), m0);
            Vector512<ulong> pa1 = Avx512F.Multiply(a2.AsUInt32(), m1);
            Vector512<ulong> pd0 = Avx512F.Multiply(d0.AsUInt32(), m0);
            Vector512<ulong> pd1 = Avx512F.Multiply(d2.AsUInt32(), m1);
            Vector512<ulong> pe0 = Avx512F.Multiply(e0.AsUInt32(), m0);
            Vector512<ulong> pe1 = Avx512F.Multiply(e2.AsUInt32(), m1);
            Vector512<ulong> pf0 = Avx512F.Multiply(f0.AsUInt32(), m0);
            Vector512<ulong> pf1 = Avx512F.Multiply(f2.AsUInt32(), m1);
            a0 = (pa1 >>> 32) ^ a1 ^ kk0;
            a2 = (pa0 >>> 32) ^ a3 ^ kk1;
            a1 = pa1 & lowMask;
            a3 = pa0 & lowMask;
            d0 = (pd1 >>> 32) ^ d1 ^ kk0;
            d2 = (pd0 >>> 32) ^ d3 ^ kk1;
            d1 = pd1 & lowMask;
            d3 = pd0 & lowMask;
            e0 = (pe1 >>> 32) ^ e1 ^ kk0;
            e2 = (pe0 >>> 32) ^ e3 ^ kk1;
            e1 = pe1 & lowMask;
            e3 = pe0 & lowMask;
            f0 = (pf1 >>> 32) ^ f1 ^ kk0;
            f2 = (pf0 >>> 32) ^ f3 ^ kk1;
            f1 = pf1 & lowMask;
            f3 = pf0 & lowMask;
        }
        InElementOrder(a0, a1, a2, a3, out w0, out w1);
        InElementOrder(d0, d1, d2, d3, out w2, out w3);
        InElementOrder(e0, e1, e2, e3, out w4, out w5);
        InElementOrder(f0, f1, f2, f3, out w6, out w7);
    }

    /// <summary>Words 4·firstBlock .. 4·firstBlock+63 (16 blocks, four chains of four 256-bit lanes), eight per vector in
    /// element order. Requires <see cref="Avx2"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Words256x4(Seed128 seed, ulong firstBlock,
        out Vector256<uint> w0, out Vector256<uint> w1, out Vector256<uint> w2, out Vector256<uint> w3,
        out Vector256<uint> w4, out Vector256<uint> w5, out Vector256<uint> w6, out Vector256<uint> w7)
    {
        var lowMask = Vector256.Create(0xFFFFFFFFul);
        var s2 = Vector256.Create((ulong)seed.W2);
        var s3 = Vector256.Create((ulong)seed.W3);
        Vector256<ulong> blocks = Vector256.Create(firstBlock) + Vector256.Create(0ul, 1, 2, 3);
        Vector256<ulong> a0 = blocks & lowMask, a1 = blocks >>> 32, a2 = s2, a3 = s3;
        blocks += Vector256.Create(4ul);
        Vector256<ulong> d0 = blocks & lowMask, d1 = blocks >>> 32, d2 = s2, d3 = s3;
        blocks += Vector256.Create(4ul);
        Vector256<ulong> e0 = blocks & lowMask, e1 = blocks >>> 32, e2 = s2, e3 = s3;
        blocks += Vector256.Create(4ul);
        Vector256<ulong> f0 = blocks & lowMask, f1 = blocks >>> 32, f2 = s2, f3 = s3;
        uint k0 = seed.W0, k1 = seed.W1;
        var m0 = Vector256.Create(M0).AsUInt32();
        var m1 = Vector256.Create(M1).AsUInt32();
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += Weyl0;
                k1 += Weyl1;
            }
            var kk0 = Vector256.Create((ulong)k0);
            var kk1 = Vector256.Create((ulong)k1);
            Vector256<ulong> pa0 = Avx2.Multiply(a0.AsUInt32(), m0);
            Vector256<ulong> pa1 = Avx2.Multiply(a2.AsUInt32(), m1);
            Vector256<ulong> pd0 = Avx2.Multiply(d0.AsUInt32(), m0);
            Vector256<ulong> pd1 = Avx2.Multiply(d2.AsUInt32(), m1);
            Vector256<ulong> pe0 = Avx2.Multiply(e0.AsUInt32(), m0);
            Vector256<ulong> pe1 = Avx2.Multiply(e2.AsUInt32(), m1);
            Vector256<ulong> pf0 = Avx2.Multiply(f0.AsUInt32(), m0);
            Vector256<ulong> pf1 = Avx2.Multiply(f2.AsUInt32(), m1);
            a0 = (pa1 >>> 32) ^ a1 ^ kk0;
            a2 = (pa0 >>> 32) ^ a3 ^ kk1;
            a1 = pa1 & lowMask;
            a3 = pa0 & lowMask;
            d0 = (pd1 >>> 32) ^ d1 ^ kk0;
            d2 = (pd0 >>> 32) ^ d3 ^ kk1;
            d1 = pd1 & lowMask;
            d3 = pd0 & lowMask;
            e0 = (pe1 >>> 32) ^ e1 ^ kk0;
            e2 = (pe0 >>> 32) ^ e3 ^ kk1;
            e1 = pe1 & lowMask;
            e3 = pe0 & lowMask;
            f0 = (pf1 >>> 32) ^ f1 ^ kk0;
            f2 = (pf0 >>> 32) ^ f3 ^ kk1;
            f1 = pf1 & lowMask;
            f3 = pf0 & lowMask;
        }
        InElementOrder(a0, a1, a2, a3, out w0, out w1);
        InElementOrder(d0, d1, d2, d3, out w2, out w3);
        InElementOrder(e0, e1, e2, e3, out w4, out w5);
        InElementOrder(f0, f1, f2, f3, out w6, out w7);
    }

    /// <summary>Words 4·firstBlock .. 4·firstBlock+15 (four blocks, one 256-bit chain), in element order. Requires <see cref="Avx2"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Words256(Seed128 seed, ulong firstBlock, out Vector256<uint> w0, out Vector256<uint> w1)
    {
        var lowMask = Vector256.Create(0xFFFFFFFFul);
        Vector256<ulong> blocks = Vector256.Create(firstBlock) + Vector256.Create(0ul, 1, 2, 3);
        Vector256<ulong> c0 = blocks & lowMask, c1 = blocks >>> 32;
        Vector256<ulong> c2 = Vector256.Create((ulong)seed.W2), c3 = Vector256.Create((ulong)seed.W3);
        uint k0 = seed.W0, k1 = seed.W1;
        var m0 = Vector256.Create(M0).AsUInt32();
        var m1 = Vector256.Create(M1).AsUInt32();
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += Weyl0;
                k1 += Weyl1;
            }
            Vector256<ulong> p0 = Avx2.Multiply(c0.AsUInt32(), m0);
            Vector256<ulong> p1 = Avx2.Multiply(c2.AsUInt32(), m1);
            c0 = (p1 >>> 32) ^ c1 ^ Vector256.Create((ulong)k0);
            c2 = (p0 >>> 32) ^ c3 ^ Vector256.Create((ulong)k1);
            c1 = p1 & lowMask;
            c3 = p0 & lowMask;
        }
        InElementOrder(c0, c1, c2, c3, out w0, out w1);
    }

    /// <summary>Eight blocks, word j of block b in lane b of cj (upper halves zero), as 32 words in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InElementOrder(Vector512<ulong> c0, Vector512<ulong> c1, Vector512<ulong> c2, Vector512<ulong> c3,
        out Vector512<uint> first, out Vector512<uint> second)
    {
        // Lane b of x01 holds words 0 and 1 of block b, lane b of x23 words 2 and 3; interleaving the lanes of the two
        // gives the blocks' words in element order.
        Vector512<ulong> x01 = c0 | (c1 << 32);
        Vector512<ulong> x23 = c2 | (c3 << 32);
        first = Avx512F.PermuteVar8x64x2(x01, Vector512.Create(0ul, 8, 1, 9, 2, 10, 3, 11), x23).AsUInt32();
        second = Avx512F.PermuteVar8x64x2(x01, Vector512.Create(4ul, 12, 5, 13, 6, 14, 7, 15), x23).AsUInt32();
    }

    /// <summary>Four blocks, word j of block b in lane b of cj (upper halves zero), as 16 words in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InElementOrder(Vector256<ulong> c0, Vector256<ulong> c1, Vector256<ulong> c2, Vector256<ulong> c3,
        out Vector256<uint> first, out Vector256<uint> second)
    {
        Vector256<ulong> x01 = c0 | (c1 << 32);
        Vector256<ulong> x23 = c2 | (c3 << 32);
        Vector256<ulong> lo = Avx2.UnpackLow(x01, x23);
        Vector256<ulong> hi = Avx2.UnpackHigh(x01, x23);
        first = Avx2.Permute2x128(lo, hi, 0x20).AsUInt32();
        second = Avx2.Permute2x128(lo, hi, 0x31).AsUInt32();
    }
}
