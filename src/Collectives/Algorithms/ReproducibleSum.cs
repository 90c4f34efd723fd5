using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The reproducible floating-point sum: a sum whose bits do not depend on the order of the additions, so on the
/// algorithm, transport, segment size, rank count, or how the addends are spread over the ranks. It is the binned
/// (fixed-point) summation of ReproBLAS (Demmel and Nguyen, "Parallel Reproducible Summation", 2015) cut down to one
/// bin per block of values: addition is made exact by doing it in integers, which are associative.
/// <list type="number">
/// <item>Per block of <see cref="BlockElements"/> elements, the largest binary exponent among all addends of all
/// ranks: one small MAX AllReduce of ints (exact in any order), which also carries a flag "some addend is NaN or
/// infinite" and each rank's number of addends (all must pass the same).</item>
/// <item>Each finite addend is scaled by a power of two fixed by its block's exponent, so that every value of the
/// block is below 2^(62 - H), and rounded to a 64-bit integer (half to even). H = <see cref="HeadroomBits"/> bits of
/// headroom make the integer sum of up to 2^H addends exact; it is fixed, not taken from the rank count, so the
/// scale, and with it the result, is the same for 1 or 16 ranks.</item>
/// <item>The integers of this rank's addends are summed locally, then across ranks by an ordinary Sum AllReduce of
/// longs (any algorithm: integer sums are exact), and converted back with one scaling: long to double (rounding past
/// 53 bits), times 2^-scale, then to float (a second rounding). The result is deterministic; it is the exact sum of
/// the quantized addends, rounded.</item>
/// <item>Only where some addend was NaN or infinite: a second Sum AllReduce of longs counts, per element, the NaNs,
/// +infinities and -infinities (IEEE: any NaN, or +inf with -inf, gives NaN; otherwise the infinity wins).</item>
/// </list>
/// Precision: each addend keeps its bits down to 2^(e + 1 - 62 + H) = 2^(e - 49), where 2^e is the largest magnitude
/// in its block on any rank; bits below are rounded away (so 1e30 + 1 - 1e30 in one block gives 0, every time, where
/// a float sum gives 0 or 1 by order). For float this is 26 bits more than the float's own precision relative to the
/// block's largest value; for double it is 3 bits fewer. Subnormal addends take part like any others (scaled exactly).
/// </summary>
internal static class ReproducibleSum
{
    /// <summary>Elements that share one scale: small enough to keep precision local, large enough that the header is cheap (4 bytes per 256 elements).</summary>
    public const int BlockElements = 256;

    /// <summary>Headroom bits above the largest scaled addend: at most 2^12 = 4096 addends per element (ranks x addends per rank).</summary>
    public const int HeadroomBits = 12;

    /// <summary>Bits of the integer grid below the top of a block's range.</summary>
    private const int GridBits = 62 - HeadroomBits;

    /// <summary>The most addends per element (all ranks together) for which the integer sum cannot overflow.</summary>
    public const int MaxAddends = 1 << HeadroomBits;

    /// <summary>
    /// <paramref name="result"/> = the reproducible sum over all ranks of all <paramref name="addendCount"/> local
    /// addends, which lie one after the other in <paramref name="addends"/> (addendCount x result.Length values).
    /// Collective. <paramref name="options"/> chooses the algorithm, segment size and timeout of the integer AllReduces.
    /// </summary>
    /// <remarks>
    /// <paramref name="fromAllReduce"/>: the caller is the AllReduce, whose addend count is 1 on every rank by
    /// construction; then the float sum on Ring or Auto needs no header (<see cref="ReproducibleExchange"/>). Through
    /// the public sum the header also checks that the ranks passed the same addend count, so it is always exchanged.
    /// </remarks>
    public static void Run<T>(Communicator comm, ReadOnlySpan<T> addends, int addendCount, Span<T> result, CollectiveOptions options, bool fromAllReduce = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int count = result.Length;
        if (addendCount < 0) ThrowHelper.ArgumentOutOfRange(nameof(addendCount), addendCount, $"rank {comm.Rank}: the number of addends must be 0 or more, not {addendCount}.");
        if ((long)addendCount * count != addends.Length)
            throw new ArgumentException($"rank {comm.Rank}: reproducible sum of {addendCount} addends of {count} elements needs {(long)addendCount * count} values, but {addends.Length} were passed.", nameof(addends));
        var inner = options with { Reproducible = false };
        if (fromAllReduce && addendCount == 1 && FusedRingApplies<T>(options))
        {
            RunExchange(comm, MemoryMarshal.Cast<T, float>(addends), MemoryMarshal.Cast<T, float>(result), inner);
            return;
        }
        int blocks = (count + BlockElements - 1) / BlockElements;

        // Header: block exponents, then the non-finite flag, then +addends and -addends (max of both = min and max).
        int[] header = ArrayPool<int>.Shared.Rent(blocks + 3);
        long[]? nonFiniteCounts = null;
        T[]? gathered = null;
        try
        {
            var head = header.AsSpan(0, blocks + 3);
            bool nonFinite = false;
            for (int b = 0; b < blocks; b++)
            {
                int start = b * BlockElements, length = Math.Min(BlockElements, count - start);
                int top = 0;
                for (int a = 0; a < addendCount; a++)
                    top = Math.Max(top, BiasedExponent(addends.Slice(a * count + start, length), ref nonFinite));
                head[b] = top;
            }
            head[blocks] = nonFinite ? 1 : 0;
            head[blocks + 1] = addendCount;
            head[blocks + 2] = -addendCount;
            // The header is small and its MAX exact in any order: Auto's choice (the fewest steps), whatever the caller's.
            comm.AllReduce(head, ReduceOp.Max, inner with { Algorithm = AllReduceAlgorithm.Auto });
            if (head[blocks + 1] != -head[blocks + 2])
                throw new CollectiveMismatchException($"rank {comm.Rank}: reproducible sum with {addendCount} addends per rank here, but the ranks passed from {-head[blocks + 2]} to {head[blocks + 1]}: every rank must pass the same number.");
            long total = (long)addendCount * comm.Size;
            if (total > MaxAddends)
                throw new NotSupportedException($"rank {comm.Rank}: reproducible sum of {total} addends per element ({comm.Size} ranks x {addendCount}); at most {MaxAddends} fit the exact 64-bit accumulator.");
            bool anyNonFinite = head[blocks] != 0;

            if (FusedRingApplies<T>(options))
            {
                RunFused(comm, MemoryMarshal.Cast<T, float>(addends), addendCount, MemoryMarshal.Cast<T, float>(result), head.Slice(0, blocks), anyNonFinite, inner);
                return;
            }

            // The unfused path, for the other algorithms and for double: the integers are summed by a ReduceScatter
            // (exact in any order), each rank converts only its own shard back to floats, and an AllGather of those
            // floats finishes: the wire carries longs for half the AllReduce and floats for the other half, and the
            // conversion back is split over the ranks. The shard boundaries need not follow the blocks: every rank
            // knows every block's scale from the header.
            int size = comm.Size;
            int shard = (count + size - 1) / size;
            int padded = shard * size;
            var acc = comm.ReproducibleScratch(padded);
            acc.Slice(count).Clear();
            if (addendCount == 0) acc.Slice(0, count).Clear();
            for (int b = 0; b < blocks; b++)
            {
                int start = b * BlockElements, length = Math.Min(BlockElements, count - start);
                int scale = Scale<T>(head[b]);
                for (int a = 0; a < addendCount; a++)
                    Accumulate(addends.Slice(a * count + start, length), scale, acc.Slice(start, length), overwrite: a == 0);
            }
            if (size > 1) comm.ReduceScatter(acc, ReduceOp.Sum, inner);
            // The non-finite counts are taken before the result is written: in place, result and addends are one buffer.
            if (anyNonFinite)
            {
                nonFiniteCounts = ArrayPool<long>.Shared.Rent(Math.Max(count, 1));
                CountNonFinite(comm, addends, addendCount, nonFiniteCounts.AsSpan(0, count), inner);
            }
            if (padded == count)
            {
                ConvertShard(acc, head, comm.Rank * shard, shard, count, result);
                if (size > 1) comm.AllGather(result, inner);
            }
            else
            {
                gathered = ArrayPool<T>.Shared.Rent(padded);
                var all = gathered.AsSpan(0, padded);
                all.Slice(count).Clear();
                ConvertShard(acc, head, comm.Rank * shard, shard, count, all);
                comm.AllGather(all, inner);
                all.Slice(0, count).CopyTo(result);
            }
            if (nonFiniteCounts is not null) ApplyNonFinite(nonFiniteCounts.AsSpan(0, count), result);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(header);
            if (nonFiniteCounts is not null) ArrayPool<long>.Shared.Return(nonFiniteCounts);
            if (gathered is not null) ArrayPool<T>.Shared.Return(gathered);
        }
    }

    /// <summary>
    /// Whether the float sum takes a fused path: the exchange (<see cref="ReproducibleExchange"/>) for the AllReduce,
    /// the fused ring (<see cref="ReproducibleRing"/>) for several addends per rank; for Ring and for Auto (whose
    /// choice, here, is the fused path unless ALLREDUCENET_ALGO forces another algorithm). The other algorithms sum the
    /// same integers with their own AllReduce, so every choice gives the same bits, and the tests compare them.
    /// </summary>
    private static bool FusedRingApplies<T>(CollectiveOptions options) where T : unmanaged =>
        typeof(T) == typeof(float)
        && (options.Algorithm == AllReduceAlgorithm.Ring
            || (options.Algorithm == AllReduceAlgorithm.Auto && EnvironmentSettings.Current.ForcedAlgorithm is null or AllReduceAlgorithm.Ring));

    /// <summary>The header-free exchange (<see cref="ReproducibleExchange"/>) as one collective call: one addend per rank.</summary>
    private static unsafe void RunExchange(Communicator comm, ReadOnlySpan<float> addends, Span<float> result, CollectiveOptions inner)
    {
        var call = new CollectiveCall(comm, CollectiveKind.ReproducibleSum, ElementType.Float, ReduceOp.Sum, result.Length, inner);
        using (comm.BeginTimeline(call))
        {
            try
            {
                fixed (float* input = addends)
                fixed (float* output = result)
                    ReproducibleExchange.Run(call, input, output, result.Length);
            }
            catch (Exception error)
            {
                call.NotifyPeersOfFailure(error);
                throw;
            }
        }
    }

    /// <summary>
    /// The fused ring as one collective call; the non-finite counts (a separate integer AllReduce, only where the
    /// header saw a NaN or an infinity) are taken before the ring, which may overwrite the addends in place.
    /// </summary>
    private static unsafe void RunFused(Communicator comm, ReadOnlySpan<float> addends, int addendCount, Span<float> result,
        ReadOnlySpan<int> head, bool anyNonFinite, CollectiveOptions inner)
    {
        int count = result.Length;
        long[]? nonFiniteCounts = null;
        try
        {
            if (anyNonFinite)
            {
                nonFiniteCounts = ArrayPool<long>.Shared.Rent(Math.Max(count, 1));
                CountNonFinite(comm, addends, addendCount, nonFiniteCounts.AsSpan(0, count), inner);
            }
            var accumulators = comm.ReproducibleScratch(count);
            var call = new CollectiveCall(comm, CollectiveKind.ReproducibleSum, ElementType.Float, ReduceOp.Sum, count, inner);
            using (comm.BeginTimeline(call))
            {
                try
                {
                    fixed (float* input = addends)
                    fixed (float* output = result)
                    fixed (long* acc = accumulators)
                        ReproducibleRing.Run(call, input, addendCount, output, count, head, acc);
                }
                catch (Exception error)
                {
                    call.NotifyPeersOfFailure(error);
                    throw;
                }
            }
            if (nonFiniteCounts is not null) ApplyNonFinite(nonFiniteCounts.AsSpan(0, count), result);
        }
        finally
        {
            if (nonFiniteCounts is not null) ArrayPool<long>.Shared.Return(nonFiniteCounts);
        }
    }

    /// <summary>
    /// The elements [first, first + length) of the summed integers, cut at <paramref name="count"/>, back to floats
    /// into the same positions of <paramref name="result"/>, each with its block's scale.
    /// </summary>
    private static void ConvertShard<T>(ReadOnlySpan<long> sums, ReadOnlySpan<int> head, int first, int length, int count, Span<T> result)
        where T : unmanaged
    {
        int end = Math.Min(first + length, count);
        for (int start = first; start < end;)
        {
            int block = start / BlockElements;
            int stop = Math.Min((block + 1) * BlockElements, end);
            ToFloat(sums.Slice(start, stop - start), Scale<T>(head[block]), result.Slice(start, stop - start));
            start = stop;
        }
    }

    private const int PositiveShift = 21, NaNShift = 42; // fields of 21 bits: counts up to MaxAddends fit with room

    /// <summary>Per element, the numbers of NaN, +inf and -inf addends (in 21-bit fields), summed exactly over all ranks.</summary>
    private static void CountNonFinite<T>(Communicator comm, ReadOnlySpan<T> addends, int addendCount, Span<long> counts, CollectiveOptions inner)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int count = counts.Length;
        counts.Clear();
        for (int a = 0; a < addendCount; a++)
        {
            var part = addends.Slice(a * count, count);
            for (int i = 0; i < count; i++)
            {
                T x = part[i];
                if (T.IsFinite(x)) continue;
                counts[i] += T.IsNaN(x) ? 1L << NaNShift : T.IsPositive(x) ? 1L << PositiveShift : 1L;
            }
        }
        comm.AllReduce(counts, ReduceOp.Sum, inner);
    }

    /// <summary>Where some addend was not finite, the result is what IEEE addition gives: any NaN, or +inf with -inf, is NaN; otherwise the infinity.</summary>
    private static void ApplyNonFinite<T>(ReadOnlySpan<long> counts, Span<T> result) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const long field = (1L << PositiveShift) - 1;
        for (int i = 0; i < counts.Length; i++)
        {
            long c = counts[i];
            if (c == 0) continue;
            long nan = c >> NaNShift, positive = (c >> PositiveShift) & field, negative = c & field;
            result[i] = nan > 0 || (positive > 0 && negative > 0) ? T.NaN : positive > 0 ? T.PositiveInfinity : T.NegativeInfinity;
        }
    }

    /// <summary>The largest biased exponent of the finite values (0 for zeros and subnormals); sets <paramref name="nonFinite"/> if some value is NaN or infinite.</summary>
    private static unsafe int BiasedExponent<T>(ReadOnlySpan<T> values, ref bool nonFinite) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var bits = MemoryMarshal.Cast<T, int>(values);
            int max;
            fixed (int* p = bits) max = FixedPointBlocks.MaxMagnitudeBits((float*)p, bits.Length);
            int exponent = max >> 23;
            if (exponent == 0xFF) { nonFinite = true; return FiniteExponent(bits); }
            return exponent;
        }
        else
        {
            var bits = MemoryMarshal.Cast<T, long>(values);
            long max = 0;
            foreach (long v in bits) max = Math.Max(max, v & 0x7FFF_FFFF_FFFF_FFFF);
            int exponent = (int)(max >> 52);
            if (exponent == 0x7FF) { nonFinite = true; return FiniteExponent(bits); }
            return exponent;
        }
    }

    /// <summary>The slow path of <see cref="BiasedExponent{T}"/> for a block holding NaN or infinity: the largest exponent of the finite values only.</summary>
    internal static int FiniteExponent(ReadOnlySpan<int> bits)
    {
        int max = 0;
        foreach (int v in bits) if ((v & 0x7F80_0000) != 0x7F80_0000) max = Math.Max(max, (v & 0x7FFF_FFFF) >> 23);
        return max;
    }

    private static int FiniteExponent(ReadOnlySpan<long> bits)
    {
        int max = 0;
        foreach (long v in bits) if ((v & 0x7FF0_0000_0000_0000) != 0x7FF0_0000_0000_0000) max = Math.Max(max, (int)((v & 0x7FFF_FFFF_FFFF_FFFF) >> 52));
        return max;
    }

    /// <summary>
    /// The power of two that maps a block whose largest biased exponent is <paramref name="biasedExponent"/> onto the
    /// integer grid: every value of the block is below 2^top (top = unbiased exponent + 1; subnormals share the
    /// smallest normal's), and below 2^GridBits once scaled.
    /// </summary>
    internal static int Scale<T>(int biasedExponent) where T : unmanaged
    {
        int bias = typeof(T) == typeof(float) ? 127 : 1023;
        int top = Math.Max(biasedExponent, 1) - bias + 1;
        return GridBits - top;
    }

    /// <summary>
    /// acc[i] += round(values[i] x 2^scale), or acc[i] = ... for the first addend (<paramref name="overwrite"/>: no
    /// separate clearing pass); non-finite values count as 0 here (<see cref="ApplyNonFinite{T}"/> handles them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate<T>(ReadOnlySpan<T> values, int scale, Span<long> acc, bool overwrite) where T : unmanaged
    {
        if (overwrite) acc.Clear(); // one block, in cache: cheaper than a branch in the vector loop
        if (typeof(T) == typeof(float))
        {
            // scale is in [-78, 175] for float: 2^scale is a normal double and the product is exact.
            double factor = double.ScaleB(1.0, scale);
            var x = MemoryMarshal.Cast<T, float>(values);
            int i = 0;
            if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count * 2)
            {
                var vf = new Vector<double>(factor);
                var infinity = new Vector<double>(double.PositiveInfinity);
                // Adding 1.5 x 2^52 rounds |y| < 2^51 to an integer (half to even, the FPU's mode) and leaves it in the
                // low mantissa bits: subtracting the constant's bits gives the long. Plain adds, no conversion instructions.
                var magic = new Vector<double>(RoundingMagic);
                var magicBits = new Vector<long>(BitConverter.DoubleToInt64Bits(RoundingMagic));
                var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
                var av = MemoryMarshal.Cast<long, Vector<long>>(acc);
                for (int v = 0; v < xv.Length; v++)
                {
                    Vector.Widen(xv[v], out var low, out var high);
                    var lowFinite = Vector.LessThan(Vector.Abs(low), infinity);
                    var highFinite = Vector.LessThan(Vector.Abs(high), infinity);
                    var lowQ = (Vector.AsVectorInt64(low * vf + magic) - magicBits) & lowFinite;
                    var highQ = (Vector.AsVectorInt64(high * vf + magic) - magicBits) & highFinite;
                    av[2 * v] += lowQ;
                    av[2 * v + 1] += highQ;
                }
                i = xv.Length * Vector<float>.Count;
            }
            for (; i < x.Length; i++)
                if (float.IsFinite(x[i])) acc[i] += (long)Math.Round(x[i] * factor, MidpointRounding.ToEven);
        }
        else
        {
            // scale may reach 1071 for double (subnormal blocks), past the largest double power of two: two exact steps.
            int first = scale / 2;
            double f1 = double.ScaleB(1.0, first), f2 = double.ScaleB(1.0, scale - first);
            var x = MemoryMarshal.Cast<T, double>(values);
            for (int i = 0; i < x.Length; i++)
                if (double.IsFinite(x[i])) acc[i] += (long)Math.Round(x[i] * f1 * f2, MidpointRounding.ToEven);
        }
    }

    private const double RoundingMagic = 6755399441055744.0; // 1.5 x 2^52

    /// <summary>
    /// (double)v for each lane, correctly rounded as the scalar conversion is: v = hi 2^32 + lo, both halves converted
    /// exactly by the exponent-bits trick, then one rounding in the final add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> ToDouble(Vector<long> v)
    {
        var lowBits = (v & new Vector<long>(0xFFFF_FFFF)) | new Vector<long>(0x4330_0000_0000_0000);           // 2^52 + lo
        var highBits = Vector.ShiftRightArithmetic(v, 32) + new Vector<long>(0x4338_0000_0000_0000);          // 1.5 x 2^52 + hi
        var low = Vector.AsVectorDouble(lowBits) - new Vector<double>(4503599627370496.0);                     // lo
        var high = Vector.AsVectorDouble(highBits) - new Vector<double>(RoundingMagic);                         // hi
        return high * new Vector<double>(4294967296.0) + low;
    }

    /// <summary>result[i] = sums[i] x 2^-scale, rounded to <typeparamref name="T"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ToFloat<T>(ReadOnlySpan<long> sums, int scale, Span<T> result) where T : unmanaged
    {
        int first = scale / 2;
        double f1 = double.ScaleB(1.0, -first), f2 = double.ScaleB(1.0, first - scale);
        if (typeof(T) == typeof(float))
        {
            var r = MemoryMarshal.Cast<T, float>(result);
            int i = 0;
            if (Vector.IsHardwareAccelerated && r.Length >= Vector<float>.Count)
            {
                var v1 = new Vector<double>(f1);
                var v2 = new Vector<double>(f2);
                var sv = MemoryMarshal.Cast<long, Vector<long>>(sums);
                var rv = MemoryMarshal.Cast<float, Vector<float>>(r);
                for (int v = 0; v < rv.Length; v++)
                    rv[v] = Vector.Narrow(ToDouble(sv[2 * v]) * v1 * v2, ToDouble(sv[2 * v + 1]) * v1 * v2);
                i = rv.Length * Vector<float>.Count;
            }
            for (; i < r.Length; i++) r[i] = (float)((double)sums[i] * f1 * f2);
        }
        else
        {
            var r = MemoryMarshal.Cast<T, double>(result);
            for (int i = 0; i < r.Length; i++) r[i] = (double)sums[i] * f1 * f2;
        }
    }
}
