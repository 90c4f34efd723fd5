using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AllReduceNet.Privacy;

/// <summary>
/// The masked ring's add at its last reduce-scatter step: target[i] = (float)(target[i] + source[i]) x 2^-f, the
/// int32 sum wrapping modulo 2^32 and dequantized in the same pass, written as floats over the integers. So the owner's
/// segment is read and written once where adding, then dequantizing, took two passes
/// (benchmarks/RESULTS-federated.md, "maskspeed 5"). Bit for bit <see cref="MaskedRing.Dequantize"/> of the wrapped sum.
/// <para>
/// Shaped as the transport's receive-reduce operator (a bare function pointer without context, which any thread of the
/// world may run for a block), so each scale has a function of its own: one generic instantiation per fractional-bit
/// count, <c>Next^f&lt;Zero&gt;</c>, built once. The masked ring now calls it on the receiver's thread, tile by tile.
/// </para>
/// </summary>
internal static unsafe class DequantizingAdd
{
    /// <summary>Fractional bits a format may have: 0..30 (<see cref="MaskedFormat"/>).</summary>
    private const int MaxBits = 30;

    private static readonly nint[] ByBits = Build();

    /// <summary>The operator for scale 2^<paramref name="fractionalBits"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">fractionalBits is outside 0..30.</exception>
    public static delegate*<void*, void*, long, void> For(int fractionalBits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fractionalBits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fractionalBits, MaxBits);
        return (delegate*<void*, void*, long, void>)ByBits[fractionalBits];
    }

    private static nint[] Build()
    {
        var table = new nint[MaxBits + 1];
        Fill<Zero>(table);
        return table;
    }

    private static void Fill<TBits>(nint[] table) where TBits : struct, IFractionalBits
    {
        table[TBits.Value] = (nint)(delegate*<void*, void*, long, void>)&Run<TBits>;
        if (TBits.Value < MaxBits) Fill<Next<TBits>>(table);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Run<TBits>(void* target, void* source, long bytes) where TBits : struct, IFractionalBits
    {
        int count = (int)(bytes / sizeof(int));
        // 2^-f is exact in float for f <= 30, and int -> float rounds once: the same bits as MaskedRing.Dequantize.
        float inverse = 1f / (1 << TBits.Value);
        ref int t = ref *(int*)target;
        ref int s = ref *(int*)source;
        ref float o = ref *(float*)target;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var factor = Vector512.Create(inverse);
            for (; i + 16 <= count; i += 16)
                (Vector512.ConvertToSingle(Vector512.LoadUnsafe(ref t, (nuint)i) + Vector512.LoadUnsafe(ref s, (nuint)i)) * factor).StoreUnsafe(ref o, (nuint)i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var factor = Vector256.Create(inverse);
            for (; i + 8 <= count; i += 8)
                (Vector256.ConvertToSingle(Vector256.LoadUnsafe(ref t, (nuint)i) + Vector256.LoadUnsafe(ref s, (nuint)i)) * factor).StoreUnsafe(ref o, (nuint)i);
        }
        var targets = new Span<int>(target, count);
        var sources = new ReadOnlySpan<int>(source, count);
        var outputs = MemoryMarshal.Cast<int, float>(targets);
        for (; i < count; i++) outputs[i] = unchecked(targets[i] + sources[i]) * inverse;
    }

    private interface IFractionalBits
    {
        static abstract int Value { get; }
    }

    private struct Zero : IFractionalBits
    {
        public static int Value => 0;
    }

    private struct Next<TBits> : IFractionalBits where TBits : struct, IFractionalBits
    {
        public static int Value => TBits.Value + 1;
    }
}
