using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// <see cref="FixedPoint.Quantize"/> eight floats at a time, bit-identical to it: clamp, y = c * scale (exact, a
/// power of two), then floor(y + 1/2), which is exact in float while |y| &lt; 2^23; from 2^23 up y is already an
/// integer and is kept as is. NaN gives 0.
/// </summary>
internal static class VectorQuantizer
{
    // Fully optimized from the first call: at Tier0 every vector operation is a call, and the masked ring's first
    // calls of a process ran 2x slower (benchmarks/RESULTS-federated.md, "maskspeed 7").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Quantize(ReadOnlySpan<float> x, Span<int> q, float clip, float scale)
    {
        int i = 0;
        // AVX-512's rounding modes embedded in the instruction: 5 operations per 16 elements where the portable path
        // below takes 13; on the masked ring this was the largest single cost after the mask generator
        // (benchmarks/RESULTS-federated.md, "maskspeed 5"). Only where every clipped value converts in range, as every
        // FixedPointFormat's does; otherwise the portable path saturates as the scalar formula does.
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated && (double)clip * scale + 1 < int.MaxValue)
            i = Quantize512RoundingModes(x, q, clip, scale);
        // 16 at a time where 512-bit vectors are fast (Zen 5: the same ops on full-width units, half the instructions).
        if (Vector512.IsHardwareAccelerated)
        {
            var hi = Vector512.Create(clip);
            var lo = Vector512.Create(-clip);
            var s = Vector512.Create(scale);
            var half = Vector512.Create(0.5f);
            var exactFrom = Vector512.Create(8388608f); // 2^23
            ref float xr = ref MemoryMarshal.GetReference(x);
            ref int qr = ref MemoryMarshal.GetReference(q);
            for (; i + 16 <= x.Length; i += 16)
            {
                Vector512<float> v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                Vector512<float> c = Vector512.ConditionalSelect(Vector512.GreaterThan(v, hi), hi, v);
                c = Vector512.ConditionalSelect(Vector512.LessThan(c, lo), lo, c);
                Vector512<float> y = c * s;
                Vector512<float> r = Vector512.Floor(y + half);
                r = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Vector512.Abs(y), exactFrom), y, r);
                r = Vector512.ConditionalSelect(Vector512.Equals(v, v), r, Vector512<float>.Zero); // NaN -> 0
                Vector512.ConvertToInt32(r).StoreUnsafe(ref qr, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var hi = Vector256.Create(clip);
            var lo = Vector256.Create(-clip);
            var s = Vector256.Create(scale);
            var half = Vector256.Create(0.5f);
            var exactFrom = Vector256.Create(8388608f); // 2^23
            ref float xr = ref MemoryMarshal.GetReference(x);
            ref int qr = ref MemoryMarshal.GetReference(q);
            for (; i + 8 <= x.Length; i += 8)
            {
                Vector256<float> v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                Vector256<float> c = Vector256.ConditionalSelect(Vector256.GreaterThan(v, hi), hi, v);
                c = Vector256.ConditionalSelect(Vector256.LessThan(c, lo), lo, c);
                Vector256<float> y = c * s;
                Vector256<float> r = Vector256.Floor(y + half);
                r = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Vector256.Abs(y), exactFrom), y, r);
                r = Vector256.ConditionalSelect(Vector256.Equals(v, v), r, Vector256<float>.Zero); // NaN -> 0
                Vector256.ConvertToInt32(r).StoreUnsafe(ref qr, (nuint)i);
            }
        }
        for (; i < x.Length; i++) q[i] = FixedPoint.Quantize(x[i], clip, scale);
    }

    /// <summary>
    /// The whole vectors of 16: NaN zeroed first (so min and max see numbers), clamp, then floor(y + 1/2) with
    /// y = c x scale (exact, a power of two) as an FMA and a conversion that both round toward negative infinity. Below
    /// 2^23 the sum is exact (y is a multiple of 1/2 there); from 2^23 up y is an integer and y + 1/2 rounded down is y
    /// itself, as the portable path keeps it. Returns the count done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Quantize512RoundingModes(ReadOnlySpan<float> x, Span<int> q, float clip, float scale)
    {
        var hi = Vector512.Create(clip);
        var lo = Vector512.Create(-clip);
        var s = Vector512.Create(scale);
        var half = Vector512.Create(0.5f);
        // VFIXUPIMMPS's table, a response per class of input: QNaN and SNaN (the two lowest nibbles) give +0 (8),
        // everything else (zero, one, infinities, negative, positive: denormals too, without DAZ) the input itself (1).
        var nanToZero = Vector512.Create(0x11111188);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref int qr = ref MemoryMarshal.GetReference(q);
        int i = 0;
        for (; i + 16 <= x.Length; i += 16)
        {
            Vector512<float> v = Vector512.LoadUnsafe(ref xr, (nuint)i);
            v = Avx512F.Fixup(v, v, nanToZero, 0); // NaN -> +0 in one operation (a compare and a mask took three)
            // c x scale + 1/2 in one FMA: c x scale is exact, so its single rounding (down) is the add's.
            Vector512<float> up = Avx512F.FusedMultiplyAdd(Avx512F.Max(Avx512F.Min(v, hi), lo), s, half, FloatRoundingMode.ToNegativeInfinity);
            Avx512F.ConvertToVector512Int32(up, FloatRoundingMode.ToNegativeInfinity).StoreUnsafe(ref qr, (nuint)i);
        }
        return i;
    }
}
