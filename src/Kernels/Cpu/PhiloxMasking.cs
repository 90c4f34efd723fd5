using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Adds the signed Philox masks of every peer to a range of quantized values. Where AVX2 exists, four Philox blocks
/// run at once, one per 64-bit lane (vpmuludq gives the 32x32-&gt;64 products); the words are identical to
/// <see cref="Philox4x32.Generate"/>, which handles the ragged ends.
/// </summary>
internal static class PhiloxMasking
{
    /// <summary>q[start .. start+len) += sum over peers of sign * mask; start must be a multiple of 4.</summary>
    public static void AddMasks(int[] q, int start, int len, MaskPeer[] peers)
    {
        int end = start + len;
        foreach (var peer in peers)
        {
            int i = start;
            if (Avx2.IsSupported)
            {
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

    /// <summary>Sixteen elements (four Philox blocks) starting at <paramref name="i"/>, a multiple of 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMaskAvx2(int[] q, int i, MaskPeer peer)
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
        // Interleave back to element order: block b gives elements 4b .. 4b+3 = (c0, c1, c2, c3) of lane b.
        Vector256<uint> x01 = (c0 | (c1 << 32)).AsUInt32(); // per lane: [c0, c1]
        Vector256<uint> x23 = (c2 | (c3 << 32)).AsUInt32(); // per lane: [c2, c3]
        // Lanes 0,1 of x01/x23 hold blocks 0,1 (128-bit half 0) and blocks 2,3 (half 1).
        Vector256<ulong> lo = Avx2.UnpackLow(x01.AsUInt64(), x23.AsUInt64());   // [b0: c0 c1 c2 c3 | b2: ...]
        Vector256<ulong> hi = Avx2.UnpackHigh(x01.AsUInt64(), x23.AsUInt64());  // [b1 | b3]
        Vector256<int> first = Avx2.Permute2x128(lo, hi, 0x20).AsInt32();   // blocks 0, 1
        Vector256<int> second = Avx2.Permute2x128(lo, hi, 0x31).AsInt32();  // blocks 2, 3
        ref int target = ref q[i];
        Vector256<int> a = Vector256.LoadUnsafe(ref target);
        Vector256<int> b = Vector256.LoadUnsafe(ref target, 8);
        if (peer.Sign > 0)
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
}
