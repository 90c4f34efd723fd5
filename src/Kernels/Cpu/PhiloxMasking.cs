using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Adds the signed Philox masks of every peer to a range of quantized values. The words come from
/// <see cref="PhiloxBlocks"/>: 128 at a time with AVX-512 (eight blocks per vector; on cores with full-width 512-bit
/// units, AMD Zen 5, that halves the cost per word), 64 or 16 with AVX2; <see cref="Philox4x32.Generate"/> handles the
/// ragged ends with the same words.
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMaskAvx512x4(Span<int> q, int i, MaskPeer peer)
    {
        PhiloxBlocks.Words512x4(peer.Seed, (ulong)(i >> 2), out var w0, out var w1, out var w2, out var w3,
            out var w4, out var w5, out var w6, out var w7);
        ref int target = ref q[i];
        Add(ref target, 0, w0, peer.Sign);
        Add(ref target, 16, w1, peer.Sign);
        Add(ref target, 32, w2, peer.Sign);
        Add(ref target, 48, w3, peer.Sign);
        Add(ref target, 64, w4, peer.Sign);
        Add(ref target, 80, w5, peer.Sign);
        Add(ref target, 96, w6, peer.Sign);
        Add(ref target, 112, w7, peer.Sign);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMaskAvx2x4(Span<int> q, int i, MaskPeer peer)
    {
        PhiloxBlocks.Words256x4(peer.Seed, (ulong)(i >> 2), out var w0, out var w1, out var w2, out var w3,
            out var w4, out var w5, out var w6, out var w7);
        ref int target = ref q[i];
        Add(ref target, 0, w0, peer.Sign);
        Add(ref target, 8, w1, peer.Sign);
        Add(ref target, 16, w2, peer.Sign);
        Add(ref target, 24, w3, peer.Sign);
        Add(ref target, 32, w4, peer.Sign);
        Add(ref target, 40, w5, peer.Sign);
        Add(ref target, 48, w6, peer.Sign);
        Add(ref target, 56, w7, peer.Sign);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMaskAvx2(Span<int> q, int i, MaskPeer peer)
    {
        PhiloxBlocks.Words256(peer.Seed, (ulong)(i >> 2), out var w0, out var w1);
        ref int target = ref q[i];
        Add(ref target, 0, w0, peer.Sign);
        Add(ref target, 8, w1, peer.Sign);
    }

    /// <summary>q[offset .. offset+16) += or -= mask (wrapping, as the quantized sum does).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(ref int q, int offset, Vector512<uint> mask, int sign)
    {
        Vector512<int> value = Vector512.LoadUnsafe(ref q, (nuint)offset);
        value = sign > 0 ? value + mask.AsInt32() : value - mask.AsInt32();
        value.StoreUnsafe(ref q, (nuint)offset);
    }

    /// <summary>q[offset .. offset+8) += or -= mask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(ref int q, int offset, Vector256<uint> mask, int sign)
    {
        Vector256<int> value = Vector256.LoadUnsafe(ref q, (nuint)offset);
        value = sign > 0 ? value + mask.AsInt32() : value - mask.AsInt32();
        value.StoreUnsafe(ref q, (nuint)offset);
    }
}
