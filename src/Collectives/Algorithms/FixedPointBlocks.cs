using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The float kernels of the fused reproducible ring (<see cref="ReproducibleRing"/>): one pass that quantizes this
/// rank's addends onto their blocks' integer grids, adds what arrived from the left neighbour (its floats, quantized the
/// same way, or its integer partial sums), and writes either integers to send on or, at a chunk's last step, the
/// floats of the final sum. The numbers are those of <see cref="ReproducibleSum"/>: q(x) = round(x x 2^scale), half to
/// even, and back (float)((double)sum x 2^-scale); every path here (512-bit, 256-bit, scalar) gives the same bits.
/// <para>
/// Quantizing: a float widens to double exactly, times a power of two is exact (the scale keeps the product normal and
/// below 2^50), and adding 1.5 x 2^52 rounds it to an integer, half to even, left in the low mantissa bits. Back: the
/// 64-bit sum to double (one rounding: vcvtqq2pd under AVX-512, the scalar cast elsewhere; both round to nearest
/// even), times a power of two (exact), to float (the second rounding).
/// </para>
/// </summary>
internal static unsafe class FixedPointBlocks
{
    private const double RoundingMagic = 6755399441055744.0; // 1.5 x 2^52

    /// <summary>
    /// Over the elements [start, start + length) of a vector of <paramref name="count"/> elements (blocks of
    /// <see cref="ReproducibleSum.BlockElements"/>, block b scaled by <paramref name="head"/>[b]), for i in range:
    /// s = receivedLongs[i] (or q(receivedFloats[i]), or 0) + sum over the addends a of q(addends[a x count + i]); then
    /// <paramref name="outLongs"/>[i] = s, or, where <paramref name="outLongs"/> is null, <paramref name="outFloats"/>[i]
    /// = the float of s. Received and output pointers address the range's first element; addends the vector's.
    /// Non-finite values count as 0 (the caller handles them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first call: a benchmark's first sizes run before tiering would optimize it
    public static void Combine(float* addends, int addendCount, long count, ReadOnlySpan<int> head, long start, long length,
        float* receivedFloats, long* receivedLongs, long* outLongs, float* outFloats)
    {
        long end = start + length;
        for (long at = start; at < end;)
        {
            int block = (int)(at / ReproducibleSum.BlockElements);
            long stop = Math.Min((long)(block + 1) * ReproducibleSum.BlockElements, end);
            int scale = ReproducibleSum.Scale<float>(head[block]);
            long offset = at - start;
            CombineBlock(addends + at, addendCount, count, (int)(stop - at), scale,
                receivedFloats == null ? null : receivedFloats + offset,
                receivedLongs == null ? null : receivedLongs + offset,
                outLongs == null ? null : outLongs + offset,
                outFloats == null ? null : outFloats + offset);
            at = stop;
        }
    }

    /// <summary>
    /// The reproducible sum where every addend of every element is at hand: <paramref name="output"/>[i] = the sum of
    /// vectors[v][i] over the <paramref name="vectorCount"/> vectors, for i in [0, length), where the range starts on a
    /// block boundary and holds whole blocks (the last one may be cut at the vector's end). Each block's largest exponent
    /// is taken from the addends themselves: the same scale the header's MAX AllReduce would give, so the same bits,
    /// with no header. Elements with a NaN or infinite addend get what IEEE addition gives (NaN for any NaN or for +inf
    /// with -inf, else the infinity; one NaN pattern, as the header path writes). Output may be a vector's own memory:
    /// each group of lanes is read from every vector before it is written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CombineAll(float** vectors, int vectorCount, long length, float* output)
    {
        for (long at = 0; at < length; at += ReproducibleSum.BlockElements)
        {
            int block = (int)Math.Min(ReproducibleSum.BlockElements, length - at);
            int top = 0;
            for (int v = 0; v < vectorCount; v++) top = Math.Max(top, MaxMagnitudeBits(vectors[v] + at, block));
            if ((top >> 23) != 0xFF)
            {
                SumFiniteBlock(vectors, vectorCount, at, block, ReproducibleSum.Scale<float>(top >> 23), output + at);
                continue;
            }
            // A NaN or an infinity in the block: the scale comes from the finite values only, element by element.
            int exponent = 0;
            for (int v = 0; v < vectorCount; v++)
                exponent = Math.Max(exponent, ReproducibleSum.FiniteExponent(new ReadOnlySpan<int>(vectors[v] + at, block)));
            int scale = ReproducibleSum.Scale<float>(exponent);
            double factor = PowerOfTwo(scale), inverse = PowerOfTwo(-scale);
            for (long i = at; i < at + block; i++)
            {
                long sum = 0;
                bool nan = false, positive = false, negative = false;
                for (int v = 0; v < vectorCount; v++)
                {
                    float x = vectors[v][i];
                    if (float.IsFinite(x)) sum += Quantize(x, factor);
                    else if (float.IsNaN(x)) nan = true;
                    else if (x > 0) positive = true;
                    else negative = true;
                }
                output[i] = nan || (positive && negative) ? float.NaN
                    : positive ? float.PositiveInfinity
                    : negative ? float.NegativeInfinity
                    : (float)((double)sum * inverse);
            }
        }
    }

    /// <summary>
    /// One block of <see cref="CombineAll"/> whose addends are all finite: quantize every vector's lanes, add them as
    /// integers, convert back. No finiteness masks: the caller saw no exponent field of 0xFF in the block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumFiniteBlock(float** vectors, int vectorCount, long at, int length, int scale, float* output)
    {
        double factor = PowerOfTwo(scale), inverse = PowerOfTwo(-scale);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vf = Vector512.Create(factor);
            var vi = Vector512.Create(inverse);
            var magic = Vector512.Create(RoundingMagic);
            var magicBits = Vector512.Create(BitConverter.DoubleToInt64Bits(RoundingMagic));
            for (; i + 16 <= length; i += 16)
            {
                var low = Vector512<long>.Zero;
                var high = Vector512<long>.Zero;
                for (int v = 0; v < vectorCount; v++)
                {
                    var (lowD, highD) = Vector512.Widen(Vector512.Load(vectors[v] + at + i));
                    low += Vector512.FusedMultiplyAdd(lowD, vf, magic).AsInt64() - magicBits;
                    high += Vector512.FusedMultiplyAdd(highD, vf, magic).AsInt64() - magicBits;
                }
                Vector512.Narrow(Vector512.ConvertToDouble(low) * vi, Vector512.ConvertToDouble(high) * vi).Store(output + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vf = Vector256.Create(factor);
            var vi = Vector256.Create(inverse);
            var magic = Vector256.Create(RoundingMagic);
            var magicBits = Vector256.Create(BitConverter.DoubleToInt64Bits(RoundingMagic));
            for (; i + 8 <= length; i += 8)
            {
                var low = Vector256<long>.Zero;
                var high = Vector256<long>.Zero;
                for (int v = 0; v < vectorCount; v++)
                {
                    var (lowD, highD) = Vector256.Widen(Vector256.Load(vectors[v] + at + i));
                    low += Vector256.FusedMultiplyAdd(lowD, vf, magic).AsInt64() - magicBits;
                    high += Vector256.FusedMultiplyAdd(highD, vf, magic).AsInt64() - magicBits;
                }
                Vector256.Narrow(Vector256.ConvertToDouble(low) * vi, Vector256.ConvertToDouble(high) * vi).Store(output + i);
            }
        }
        for (; i < length; i++)
        {
            long sum = 0;
            for (int v = 0; v < vectorCount; v++) sum += Quantize(vectors[v][at + i], factor);
            output[i] = (float)((double)sum * inverse);
        }
    }

    /// <summary>The largest of the values' bit patterns without the sign: its exponent field is the largest biased exponent (0xFF: some NaN or infinity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int MaxMagnitudeBits(float* values, int length)
    {
        var bits = (int*)values;
        int max = 0, i = 0;
        if (Vector512.IsHardwareAccelerated && length >= 16)
        {
            var magnitude = Vector512.Create(0x7FFF_FFFF);
            var top = Vector512<int>.Zero;
            for (; i + 16 <= length; i += 16) top = Vector512.Max(top, Vector512.Load(bits + i) & magnitude);
            var half = Vector256.Max(top.GetLower(), top.GetUpper());
            var quarter = Vector128.Max(half.GetLower(), half.GetUpper());
            for (int lane = 0; lane < 4; lane++) max = Math.Max(max, quarter.GetElement(lane));
        }
        else if (Vector256.IsHardwareAccelerated && length >= 8)
        {
            var magnitude = Vector256.Create(0x7FFF_FFFF);
            var top = Vector256<int>.Zero;
            for (; i + 8 <= length; i += 8) top = Vector256.Max(top, Vector256.Load(bits + i) & magnitude);
            var quarter = Vector128.Max(top.GetLower(), top.GetUpper());
            for (int lane = 0; lane < 4; lane++) max = Math.Max(max, quarter.GetElement(lane));
        }
        for (; i < length; i++) max = Math.Max(max, bits[i] & 0x7FFF_FFFF);
        return max;
    }

    /// <summary><see cref="Combine"/> within one block (one scale); <paramref name="own"/> is the first addend's element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CombineBlock(float* own, int addendCount, long stride, int length, int scale,
        float* receivedFloats, long* receivedLongs, long* outLongs, float* outFloats)
    {
        // scale is in [-78, 175] for float: 2^scale and 2^-scale are normal doubles, and both products are exact.
        double factor = PowerOfTwo(scale), inverse = PowerOfTwo(-scale);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vf = Vector512.Create(factor);
            var vi = Vector512.Create(inverse);
            for (; i + 16 <= length; i += 16)
            {
                Vector512<long> low, high;
                if (receivedLongs != null)
                {
                    low = Vector512.Load(receivedLongs + i);
                    high = Vector512.Load(receivedLongs + i + 8);
                }
                else if (receivedFloats != null) Quantize(Vector512.Load(receivedFloats + i), vf, out low, out high);
                else { low = Vector512<long>.Zero; high = Vector512<long>.Zero; }
                for (int a = 0; a < addendCount; a++)
                {
                    Quantize(Vector512.Load(own + a * stride + i), vf, out var qLow, out var qHigh);
                    low += qLow;
                    high += qHigh;
                }
                if (outLongs != null)
                {
                    low.Store(outLongs + i);
                    high.Store(outLongs + i + 8);
                }
                else Vector512.Narrow(Vector512.ConvertToDouble(low) * vi, Vector512.ConvertToDouble(high) * vi).Store(outFloats + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vf = Vector256.Create(factor);
            var vi = Vector256.Create(inverse);
            for (; i + 8 <= length; i += 8)
            {
                Vector256<long> low, high;
                if (receivedLongs != null)
                {
                    low = Vector256.Load(receivedLongs + i);
                    high = Vector256.Load(receivedLongs + i + 4);
                }
                else if (receivedFloats != null) Quantize(Vector256.Load(receivedFloats + i), vf, out low, out high);
                else { low = Vector256<long>.Zero; high = Vector256<long>.Zero; }
                for (int a = 0; a < addendCount; a++)
                {
                    Quantize(Vector256.Load(own + a * stride + i), vf, out var qLow, out var qHigh);
                    low += qLow;
                    high += qHigh;
                }
                if (outLongs != null)
                {
                    low.Store(outLongs + i);
                    high.Store(outLongs + i + 4);
                }
                else Vector256.Narrow(Vector256.ConvertToDouble(low) * vi, Vector256.ConvertToDouble(high) * vi).Store(outFloats + i);
            }
        }
        for (; i < length; i++)
        {
            long sum = receivedLongs != null ? receivedLongs[i] : receivedFloats != null ? Quantize(receivedFloats[i], factor) : 0;
            for (int a = 0; a < addendCount; a++) sum += Quantize(own[a * stride + i], factor);
            if (outLongs != null) outLongs[i] = sum;
            else outFloats[i] = (float)((double)sum * inverse);
        }
    }

    /// <summary>2^e, e within a normal double's exponent range, built from its bits: cheaper than double.ScaleB, and it runs once per block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double PowerOfTwo(int e) => BitConverter.Int64BitsToDouble((long)(e + 1023) << 52);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Quantize(float x, double factor) =>
        float.IsFinite(x) ? (long)Math.Round(x * factor, MidpointRounding.ToEven) : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quantize(Vector512<float> x, Vector512<double> factor, out Vector512<long> low, out Vector512<long> high)
    {
        var (lowD, highD) = Vector512.Widen(x);
        var magic = Vector512.Create(RoundingMagic);
        var magicBits = Vector512.Create(BitConverter.DoubleToInt64Bits(RoundingMagic));
        var infinity = Vector512.Create(double.PositiveInfinity);
        // Non-finite lanes (|x| not below infinity, NaN included) are masked to 0.
        low = (Vector512.FusedMultiplyAdd(lowD, factor, magic).AsInt64() - magicBits) & Vector512.LessThan(Vector512.Abs(lowD), infinity).AsInt64();
        high = (Vector512.FusedMultiplyAdd(highD, factor, magic).AsInt64() - magicBits) & Vector512.LessThan(Vector512.Abs(highD), infinity).AsInt64();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quantize(Vector256<float> x, Vector256<double> factor, out Vector256<long> low, out Vector256<long> high)
    {
        var (lowD, highD) = Vector256.Widen(x);
        var magic = Vector256.Create(RoundingMagic);
        var magicBits = Vector256.Create(BitConverter.DoubleToInt64Bits(RoundingMagic));
        var infinity = Vector256.Create(double.PositiveInfinity);
        low = (Vector256.FusedMultiplyAdd(lowD, factor, magic).AsInt64() - magicBits) & Vector256.LessThan(Vector256.Abs(lowD), infinity).AsInt64();
        high = (Vector256.FusedMultiplyAdd(highD, factor, magic).AsInt64() - magicBits) & Vector256.LessThan(Vector256.Abs(highD), infinity).AsInt64();
    }
}
