using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Gaussian noise on the CPU, vectorized end to end: Philox words from <see cref="PhiloxBlocks"/> (128 per call with
/// AVX-512, 64 with AVX2), then Box-Muller on whole vectors (Vector512/256 Log, Sqrt and SinCos), added in place.
/// Element k of a stream is <see cref="GaussianTransform.Normal"/> of lane k % 4 of block k / 4, as the ILGPU kernel
/// computes it, up to the last bits of the vectorized log and sine. Every element of a stream comes from the same
/// instruction path whatever the length (a ragged end is computed as a whole group into a scratch buffer), so element
/// k does not depend on the buffer's length or on how it is cut into chunks.
/// </summary>
internal static class GaussianNoise
{
    private const int GroupAvx512 = 128, GroupAvx2 = 64;

    /// <summary>destination[j] += standardDeviation · z(firstElement + j) for the stream of <paramref name="seed"/>;
    /// <paramref name="firstElement"/> is a multiple of 4 (chunks start on Philox blocks).</summary>
    public static void Add(Span<float> destination, long firstElement, float standardDeviation, Seed128 seed)
    {
        if (Avx512F.IsSupported) AddAvx512(destination, firstElement, standardDeviation, seed);
        else if (Avx2.IsSupported) AddAvx2(destination, firstElement, standardDeviation, seed);
        else AddScalar(destination, firstElement, standardDeviation, seed);
    }

    internal static void AddAvx512(Span<float> destination, long firstElement, float standardDeviation, Seed128 seed)
    {
        var std = Vector512.Create(standardDeviation);
        int len = destination.Length, i = 0;
        for (; i + GroupAvx512 <= len; i += GroupAvx512)
            Group512(ref destination[i], (ulong)(firstElement + i) >> 2, std, seed);
        if (i < len)
        {
            Span<float> scratch = stackalloc float[GroupAvx512];
            scratch.Clear();
            Group512(ref scratch[0], (ulong)(firstElement + i) >> 2, std, seed);
            for (int k = i; k < len; k++) destination[k] += scratch[k - i];
        }
    }

    internal static void AddAvx2(Span<float> destination, long firstElement, float standardDeviation, Seed128 seed)
    {
        var std = Vector256.Create(standardDeviation);
        int len = destination.Length, i = 0;
        for (; i + GroupAvx2 <= len; i += GroupAvx2)
            Group256(ref destination[i], (ulong)(firstElement + i) >> 2, std, seed);
        if (i < len)
        {
            Span<float> scratch = stackalloc float[GroupAvx2];
            scratch.Clear();
            Group256(ref scratch[0], (ulong)(firstElement + i) >> 2, std, seed);
            for (int k = i; k < len; k++) destination[k] += scratch[k - i];
        }
    }

    internal static void AddScalar(Span<float> destination, long firstElement, float standardDeviation, Seed128 seed)
    {
        for (int i = 0; i < destination.Length; i += 4)
        {
            UInt4 block = Philox4x32.StreamBlock(seed, (firstElement + i) >> 2);
            for (int lane = 0; lane < 4 && i + lane < destination.Length; lane++)
                destination[i + lane] += standardDeviation * GaussianTransform.Normal(block, lane);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Group512(ref float x, ulong firstBlock, Vector512<float> std, Seed128 seed)
    {
        PhiloxBlocks.Words512x4(seed, firstBlock, out var w0, out var w1, out var w2, out var w3,
            out var w4, out var w5, out var w6, out var w7);
        BoxMuller(ref x, 0, w0, w1, std);
        BoxMuller(ref x, 32, w2, w3, std);
        BoxMuller(ref x, 64, w4, w5, std);
        BoxMuller(ref x, 96, w6, w7, std);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Group256(ref float x, ulong firstBlock, Vector256<float> std, Seed128 seed)
    {
        PhiloxBlocks.Words256x4(seed, firstBlock, out var w0, out var w1, out var w2, out var w3,
            out var w4, out var w5, out var w6, out var w7);
        BoxMuller(ref x, 0, w0, w1, std);
        BoxMuller(ref x, 16, w2, w3, std);
        BoxMuller(ref x, 32, w4, w5, std);
        BoxMuller(ref x, 48, w6, w7, std);
    }

    /// <summary>
    /// x[offset .. offset+32) += std · the 32 normals of words a (elements 0..15) and b (16..31). Words 2j and 2j+1 are
    /// one Box-Muller pair: shufps takes the even words (u1) and the odd words (u2) of a and b in the same order
    /// within each 128-bit lane, and unpcklps/unpckhps put (r cos θ, r sin θ) back in element order: the low unpack
    /// holds a's elements, the high one b's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BoxMuller(ref float x, int offset, Vector512<uint> a, Vector512<uint> b, Vector512<float> std)
    {
        Vector512<uint> u1Words = Avx512F.Shuffle(a.AsSingle(), b.AsSingle(), 0b10_00_10_00).AsUInt32();
        Vector512<int> u2Words = Avx512F.Shuffle(a.AsSingle(), b.AsSingle(), 0b11_01_11_01).AsInt32();
        Vector512<float> u1 = (Vector512.ConvertToSingle(u1Words) + Vector512.Create(0.5f)) * Vector512.Create(GaussianTransform.TwoToMinus32);
        Vector512<float> radius = Vector512.Sqrt(Vector512.Create(-2f) * Vector512.Log(u1)) * std;
        var (sin, cos) = Vector512.SinCos(Vector512.ConvertToSingle(u2Words) * Vector512.Create(GaussianTransform.PiTimesTwoToMinus31));
        Vector512<float> even = radius * cos, odd = radius * sin;
        (Vector512.LoadUnsafe(ref x, (nuint)offset) + Avx512F.UnpackLow(even, odd)).StoreUnsafe(ref x, (nuint)offset);
        (Vector512.LoadUnsafe(ref x, (nuint)offset + 16) + Avx512F.UnpackHigh(even, odd)).StoreUnsafe(ref x, (nuint)offset + 16);
    }

    /// <summary>The 256-bit form of the 512-bit <see cref="BoxMuller(ref float, int, Vector512{uint}, Vector512{uint}, Vector512{float})"/>: 16 normals.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BoxMuller(ref float x, int offset, Vector256<uint> a, Vector256<uint> b, Vector256<float> std)
    {
        Vector256<uint> u1Words = Avx.Shuffle(a.AsSingle(), b.AsSingle(), 0b10_00_10_00).AsUInt32();
        Vector256<int> u2Words = Avx.Shuffle(a.AsSingle(), b.AsSingle(), 0b11_01_11_01).AsInt32();
        Vector256<float> u1 = (Vector256.ConvertToSingle(u1Words) + Vector256.Create(0.5f)) * Vector256.Create(GaussianTransform.TwoToMinus32);
        Vector256<float> radius = Vector256.Sqrt(Vector256.Create(-2f) * Vector256.Log(u1)) * std;
        var (sin, cos) = Vector256.SinCos(Vector256.ConvertToSingle(u2Words) * Vector256.Create(GaussianTransform.PiTimesTwoToMinus31));
        Vector256<float> even = radius * cos, odd = radius * sin;
        (Vector256.LoadUnsafe(ref x, (nuint)offset) + Avx.UnpackLow(even, odd)).StoreUnsafe(ref x, (nuint)offset);
        (Vector256.LoadUnsafe(ref x, (nuint)offset + 8) + Avx.UnpackHigh(even, odd)).StoreUnsafe(ref x, (nuint)offset + 8);
    }
}
