using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Adds the signed Philox masks of every peer to a range of quantized values. Where AVX2 exists, four Philox blocks
/// run at once, one per 64-bit lane (vpmuludq gives the 32x32-&gt;64 products); the words are identical to
/// <see cref="Philox4x32.Generate"/>, which handles the ragged ends. Where AVX-512 exists, eight blocks run per
/// vector (512-bit vpmuludq): on cores with full-width 512-bit units (AMD Zen 5) that halves the cost per word.
/// </summary>
internal static class PhiloxMasking
{
    /// <summary>q[start .. start+len) += sum over peers of sign * mask; start must be a multiple of 4. Element k of q is
    /// element k of the streams (a span, so callers may mask memory they do not hold as an int array).</summary>
    public static void AddMasks(Span<int> q, int start, int len, MaskPeer[] peers)
    {
        int end = start + len;
        foreach (var peer in peers)
        {
            int i = start;
            if (Avx512F.IsSupported)
                for (; i + 128 <= end; i += 128) AddMaskAvx512x4(q, i, peer);
            if (Avx2.IsSupported)
            {
                for (; i + 64 <= end; i += 64) AddMaskAvx2x4(q, i, peer);
                for (; i + 16 <= end; i += 16) AddMaskAvx2(q, i, peer);
            }
            for (; i < end; i += 4)
            {
                UInt4 w = Philox4x32.StreamBlock(peer.Seed, i >> 2);
                int count = Math.Min(4, end - i);
                for (int l = 0; l < count; l++)
                {
                    int m = (int)Philox4x32.Lane(w, l);
                    q[i + l] += peer.Sign > 0 ? m : -m;
                }
            }
        }
    }

    /// <summary>
    /// Sixty-four elements as four independent chains of four blocks: one round is a multiply, a shift and two xors in
    /// sequence (~6 cycles of latency), so a single chain leaves the vector units idle; four interleaved chains fill them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMaskAvx2x4(Span<int> q, int i, MaskPeer peer)
    {
        ulong b = (ulong)(i >> 2);
        var lowMask = Vector256.Create(0xFFFFFFFFul);
        var w2 = Vector256.Create((ulong)peer.Seed.W2);
        var w3 = Vector256.Create((ulong)peer.Seed.W3);
        ulong ba = b + 0;
        Vector256<ulong> a0 = Vector256.Create(ba, ba + 1, ba + 2, ba + 3) & lowMask;
        Vector256<ulong> a1 = Vector256.Create(ba >> 32, (ba + 1) >> 32, (ba + 2) >> 32, (ba + 3) >> 32);
        Vector256<ulong> a2 = w2, a3 = w3;
        ulong bd = b + 4;
        Vector256<ulong> d0 = Vector256.Create(bd, bd + 1, bd + 2, bd + 3) & lowMask;
        Vector256<ulong> d1 = Vector256.Create(bd >> 32, (bd + 1) >> 32, (bd + 2) >> 32, (bd + 3) >> 32);
        Vector256<ulong> d2 = w2, d3 = w3;
        ulong be = b + 8;
        Vector256<ulong> e0 = Vector256.Create(be, be + 1, be + 2, be + 3) & lowMask;
        Vector256<ulong> e1 = Vector256.Create(be >> 32, (be + 1) >> 32, (be + 2) >> 32, (be + 3) >> 32);
        Vector256<ulong> e2 = w2, e3 = w3;
        ulong bf = b + 12;
        Vector256<ulong> f0 = Vector256.Create(bf, bf + 1, bf + 2, bf + 3) & lowMask;
        Vector256<ulong> f1 = Vector256.Create(bf >> 32, (bf + 1) >> 32, (bf + 2) >> 32, (bf + 3) >> 32);
        Vector256<ulong> f2 = w2, f3 = w3;
        uint k0 = peer.Seed.W0, k1 = peer.Seed.W1;
        var m0 = Vector256.Create(0xD2511F53ul).AsUInt32();
        var m1 = Vector256.Create(0xCD9E8D57ul).AsUInt32();
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += 0x9E3779B9u;
                k1 += 0xBB67AE85u;
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
        Add16(q, i + 0, a0, a1, a2, a3, peer.Sign);
        Add16(q, i + 16, d0, d1, d2, d3, peer.Sign);
        Add16(q, i + 32, e0, e1, e2, e3, peer.Sign);
        Add16(q, i + 48, f0, f1, f2, f3, peer.Sign);
    }

    /// <summary>
    /// 128 elements as four independent chains of eight blocks (one block per 64-bit lane of a 512-bit vector), the
    /// same words as <see cref="AddMaskAvx2x4"/> computes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMaskAvx512x4(Span<int> q, int i, MaskPeer peer)
    {
        var lowMask = Vector512.Create(0xFFFFFFFFul);
        var w2 = Vector512.Create((ulong)peer.Seed.W2);
        var w3 = Vector512.Create((ulong)peer.Seed.W3);
        Vector512<ulong> blocks = Vector512.Create((ulong)(i >> 2)) + Vector512.Create(0ul, 1, 2, 3, 4, 5, 6, 7);
        Vector512<ulong> a0 = blocks & lowMask, a1 = blocks >>> 32, a2 = w2, a3 = w3;
        blocks += Vector512.Create(8ul);
        Vector512<ulong> d0 = blocks & lowMask, d1 = blocks >>> 32, d2 = w2, d3 = w3;
        blocks += Vector512.Create(8ul);
        Vector512<ulong> e0 = blocks & lowMask, e1 = blocks >>> 32, e2 = w2, e3 = w3;
        blocks += Vector512.Create(8ul);
        Vector512<ulong> f0 = blocks & lowMask, f1 = blocks >>> 32, f2 = w2, f3 = w3;
        uint k0 = peer.Seed.W0, k1 = peer.Seed.W1;
        var m0 = Vector512.Create(0xD2511F53ul).AsUInt32();
        var m1 = Vector512.Create(0xCD9E8D57ul).AsUInt32();
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += 0x9E3779B9u;
                k1 += 0xBB67AE85u;
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
        Add32(q, i + 0, a0, a1, a2, a3, peer.Sign);
        Add32(q, i + 32, d0, d1, d2, d3, peer.Sign);
        Add32(q, i + 64, e0, e1, e2, e3, peer.Sign);
        Add32(q, i + 96, f0, f1, f2, f3, peer.Sign);
    }

    /// <summary>Adds (or subtracts) eight blocks, one per 64-bit lane of c0..c3, to q[i .. i+32) in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add32(Span<int> q, int i, Vector512<ulong> c0, Vector512<ulong> c1, Vector512<ulong> c2, Vector512<ulong> c3, int sign)
    {
        // Lane k of x01 holds words 0 and 1 of block k, lane k of x23 words 2 and 3; interleaving the lanes of the
        // two gives the blocks' words in element order.
        Vector512<ulong> x01 = c0 | (c1 << 32);
        Vector512<ulong> x23 = c2 | (c3 << 32);
        Vector512<int> first = Avx512F.PermuteVar8x64x2(x01, Vector512.Create(0ul, 8, 1, 9, 2, 10, 3, 11), x23).AsInt32();
        Vector512<int> second = Avx512F.PermuteVar8x64x2(x01, Vector512.Create(4ul, 12, 5, 13, 6, 14, 7, 15), x23).AsInt32();
        ref int target = ref q[i];
        Vector512<int> a = Vector512.LoadUnsafe(ref target);
        Vector512<int> b = Vector512.LoadUnsafe(ref target, 16);
        if (sign > 0)
        {
            a += first;
            b += second;
        }
        else
        {
            a -= first;
            b -= second;
        }
        a.StoreUnsafe(ref target);
        b.StoreUnsafe(ref target, 16);
    }

    /// <summary>Adds (or subtracts) four blocks, one per 64-bit lane of c0..c3, to q[i .. i+16) in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add16(Span<int> q, int i, Vector256<ulong> c0, Vector256<ulong> c1, Vector256<ulong> c2, Vector256<ulong> c3, int sign)
    {
        Vector256<uint> x01 = (c0 | (c1 << 32)).AsUInt32();
        Vector256<uint> x23 = (c2 | (c3 << 32)).AsUInt32();
        Vector256<ulong> lo = Avx2.UnpackLow(x01.AsUInt64(), x23.AsUInt64());
        Vector256<ulong> hi = Avx2.UnpackHigh(x01.AsUInt64(), x23.AsUInt64());
        Vector256<int> first = Avx2.Permute2x128(lo, hi, 0x20).AsInt32();
        Vector256<int> second = Avx2.Permute2x128(lo, hi, 0x31).AsInt32();
        ref int target = ref q[i];
        Vector256<int> a = Vector256.LoadUnsafe(ref target);
        Vector256<int> b = Vector256.LoadUnsafe(ref target, 8);
        if (sign > 0)
        {
            a += first;
            b += second;
        }
        else
        {
            a -= first;
            b -= second;
        }
        a.StoreUnsafe(ref target);
        b.StoreUnsafe(ref target, 8);
    }

    /// <summary>Sixteen elements (four Philox blocks) starting at <paramref name="i"/>, a multiple of 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMaskAvx2(Span<int> q, int i, MaskPeer peer)
    {
        ulong b0 = (ulong)(i >> 2);
        var lowMask = Vector256.Create(0xFFFFFFFFul);
        // Counter words, one block per 64-bit lane (the upper 32 bits of each lane kept zero).
        Vector256<ulong> c0 = Vector256.Create(b0, b0 + 1, b0 + 2, b0 + 3) & lowMask;
        Vector256<ulong> c1 = Vector256.Create(b0 >> 32, (b0 + 1) >> 32, (b0 + 2) >> 32, (b0 + 3) >> 32);
        Vector256<ulong> c2 = Vector256.Create((ulong)peer.Seed.W2);
        Vector256<ulong> c3 = Vector256.Create((ulong)peer.Seed.W3);
        uint k0 = peer.Seed.W0, k1 = peer.Seed.W1;
        var m0 = Vector256.Create(0xD2511F53ul);
        var m1 = Vector256.Create(0xCD9E8D57ul);
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += 0x9E3779B9u;
                k1 += 0xBB67AE85u;
            }
            Vector256<ulong> p0 = Avx2.Multiply(c0.AsUInt32(), m0.AsUInt32());
            Vector256<ulong> p1 = Avx2.Multiply(c2.AsUInt32(), m1.AsUInt32());
            Vector256<ulong> n0 = (p1 >>> 32) ^ c1 ^ Vector256.Create((ulong)k0);
            Vector256<ulong> n2 = (p0 >>> 32) ^ c3 ^ Vector256.Create((ulong)k1);
            c0 = n0;
            c1 = p1 & lowMask;
            c2 = n2;
            c3 = p0 & lowMask;
        }
        // Block b gives elements 4b .. 4b+3 = (c0, c1, c2, c3) of lane b.
        Add16(q, i, c0, c1, c2, c3, peer.Sign);
    }
}
