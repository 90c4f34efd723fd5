using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// ChaCha blocks sixteen at a time, one block per 32-bit vector lane (the layout of the vectorized ChaCha in
/// Bernstein's and Goll and Gueron's implementations): vector j holds word j of the 16 blocks, so a round is 16 adds,
/// 16 xors and 16 rotates over 16 registers and the words come out in the mask stream's element order
/// (<see cref="ChaCha"/>) without a transpose. With AVX-512 one batch is 16 zmm registers and vprold; with AVX2 two
/// halves of eight blocks; otherwise the scalar <see cref="ChaCha.Block"/>. All three give the same words (tested).
/// </summary>
internal static class ChaChaBlocks
{
    /// <summary>
    /// 16 consecutive blocks from <paramref name="state"/> (its words 12 and 13 are the first block's 64-bit counter;
    /// block l adds l to it) after <paramref name="rounds"/> rounds, into <paramref name="words"/>[16 j + l] = word j of
    /// block l.
    /// </summary>
    public static void Batch(ReadOnlySpan<uint> state, int rounds, Span<uint> words)
    {
        if (state.Length != 16 || words.Length < ChaCha.BatchWords || rounds <= 0 || rounds % 2 != 0)
            throw new ArgumentException($"ChaChaBlocks.Batch needs 16 state words, 256 output words and an even round count; got {state.Length}, {words.Length}, {rounds}.");
        if (Avx512F.IsSupported) Batch512(state, rounds / 2, words);
        else if (Avx2.IsSupported)
        {
            Batch256(state, rounds / 2, 0, words);
            Batch256(state, rounds / 2, 8, words);
        }
        else BatchScalar(state, rounds, words);
    }

    /// <summary>The scalar path: block by block (also what a CPU without AVX2 runs).</summary>
    internal static void BatchScalar(ReadOnlySpan<uint> state, int rounds, Span<uint> words)
    {
        Span<uint> input = stackalloc uint[16];
        Span<uint> block = stackalloc uint[16];
        state.CopyTo(input);
        ulong counter = state[12] | (ulong)state[13] << 32;
        for (int lane = 0; lane < ChaCha.BatchBlocks; lane++)
        {
            ulong c = counter + (ulong)lane;
            input[12] = (uint)c;
            input[13] = (uint)(c >> 32);
            ChaCha.Block(input, rounds, block);
            for (int j = 0; j < 16; j++) words[16 * j + lane] = block[j];
        }
    }

    /// <summary>16 blocks in the 16 lanes of 16 zmm registers. Requires <see cref="Avx512F"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Batch512(ReadOnlySpan<uint> state, int doubleRounds, Span<uint> words)
    {
        ref uint s = ref MemoryMarshal.GetReference(state);
        ulong counter = state[12] | (ulong)state[13] << 32;
        var first = Vector512.Create((uint)counter);
        var low = first + Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        // A lane whose low word wrapped carries into the high word: the comparison is all ones (-1) there.
        var high = Vector512.Create((uint)(counter >> 32)) - Vector512.LessThan(low, first);
        Vector512<uint> x0 = Vector512.Create(s), x1 = Vector512.Create(Unsafe.Add(ref s, 1)),
            x2 = Vector512.Create(Unsafe.Add(ref s, 2)), x3 = Vector512.Create(Unsafe.Add(ref s, 3)),
            x4 = Vector512.Create(Unsafe.Add(ref s, 4)), x5 = Vector512.Create(Unsafe.Add(ref s, 5)),
            x6 = Vector512.Create(Unsafe.Add(ref s, 6)), x7 = Vector512.Create(Unsafe.Add(ref s, 7)),
            x8 = Vector512.Create(Unsafe.Add(ref s, 8)), x9 = Vector512.Create(Unsafe.Add(ref s, 9)),
            x10 = Vector512.Create(Unsafe.Add(ref s, 10)), x11 = Vector512.Create(Unsafe.Add(ref s, 11)),
            x12 = low, x13 = high,
            x14 = Vector512.Create(Unsafe.Add(ref s, 14)), x15 = Vector512.Create(Unsafe.Add(ref s, 15));
        for (int r = 0; r < doubleRounds; r++)
        {
            x0 += x4; x12 = Rotate16(x12 ^ x0);
            x1 += x5; x13 = Rotate16(x13 ^ x1);
            x2 += x6; x14 = Rotate16(x14 ^ x2);
            x3 += x7; x15 = Rotate16(x15 ^ x3);
            x8 += x12; x4 = Rotate12(x4 ^ x8);
            x9 += x13; x5 = Rotate12(x5 ^ x9);
            x10 += x14; x6 = Rotate12(x6 ^ x10);
            x11 += x15; x7 = Rotate12(x7 ^ x11);
            x0 += x4; x12 = Rotate8(x12 ^ x0);
            x1 += x5; x13 = Rotate8(x13 ^ x1);
            x2 += x6; x14 = Rotate8(x14 ^ x2);
            x3 += x7; x15 = Rotate8(x15 ^ x3);
            x8 += x12; x4 = Rotate7(x4 ^ x8);
            x9 += x13; x5 = Rotate7(x5 ^ x9);
            x10 += x14; x6 = Rotate7(x6 ^ x10);
            x11 += x15; x7 = Rotate7(x7 ^ x11);
            x0 += x5; x15 = Rotate16(x15 ^ x0);
            x1 += x6; x12 = Rotate16(x12 ^ x1);
            x2 += x7; x13 = Rotate16(x13 ^ x2);
            x3 += x4; x14 = Rotate16(x14 ^ x3);
            x10 += x15; x5 = Rotate12(x5 ^ x10);
            x11 += x12; x6 = Rotate12(x6 ^ x11);
            x8 += x13; x7 = Rotate12(x7 ^ x8);
            x9 += x14; x4 = Rotate12(x4 ^ x9);
            x0 += x5; x15 = Rotate8(x15 ^ x0);
            x1 += x6; x12 = Rotate8(x12 ^ x1);
            x2 += x7; x13 = Rotate8(x13 ^ x2);
            x3 += x4; x14 = Rotate8(x14 ^ x3);
            x10 += x15; x5 = Rotate7(x5 ^ x10);
            x11 += x12; x6 = Rotate7(x6 ^ x11);
            x8 += x13; x7 = Rotate7(x7 ^ x8);
            x9 += x14; x4 = Rotate7(x4 ^ x9);
        }
        ref uint o = ref MemoryMarshal.GetReference(words);
        (x0 + Vector512.Create(s)).StoreUnsafe(ref o, 0);
        (x1 + Vector512.Create(Unsafe.Add(ref s, 1))).StoreUnsafe(ref o, 16);
        (x2 + Vector512.Create(Unsafe.Add(ref s, 2))).StoreUnsafe(ref o, 32);
        (x3 + Vector512.Create(Unsafe.Add(ref s, 3))).StoreUnsafe(ref o, 48);
        (x4 + Vector512.Create(Unsafe.Add(ref s, 4))).StoreUnsafe(ref o, 64);
        (x5 + Vector512.Create(Unsafe.Add(ref s, 5))).StoreUnsafe(ref o, 80);
        (x6 + Vector512.Create(Unsafe.Add(ref s, 6))).StoreUnsafe(ref o, 96);
        (x7 + Vector512.Create(Unsafe.Add(ref s, 7))).StoreUnsafe(ref o, 112);
        (x8 + Vector512.Create(Unsafe.Add(ref s, 8))).StoreUnsafe(ref o, 128);
        (x9 + Vector512.Create(Unsafe.Add(ref s, 9))).StoreUnsafe(ref o, 144);
        (x10 + Vector512.Create(Unsafe.Add(ref s, 10))).StoreUnsafe(ref o, 160);
        (x11 + Vector512.Create(Unsafe.Add(ref s, 11))).StoreUnsafe(ref o, 176);
        (x12 + low).StoreUnsafe(ref o, 192);
        (x13 + high).StoreUnsafe(ref o, 208);
        (x14 + Vector512.Create(Unsafe.Add(ref s, 14))).StoreUnsafe(ref o, 224);
        (x15 + Vector512.Create(Unsafe.Add(ref s, 15))).StoreUnsafe(ref o, 240);
    }

    /// <summary>Blocks <paramref name="firstLane"/> .. +7 of the batch in the 8 lanes of 16 ymm registers, stored at
    /// words[16 j + firstLane + l]. Requires <see cref="Avx2"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Batch256(ReadOnlySpan<uint> state, int doubleRounds, int firstLane, Span<uint> words)
    {
        ref uint s = ref MemoryMarshal.GetReference(state);
        ulong counter = (state[12] | (ulong)state[13] << 32) + (ulong)firstLane;
        var first = Vector256.Create((uint)counter);
        var low = first + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var high = Vector256.Create((uint)(counter >> 32)) - Vector256.LessThan(low, first);
        Vector256<uint> x0 = Vector256.Create(s), x1 = Vector256.Create(Unsafe.Add(ref s, 1)),
            x2 = Vector256.Create(Unsafe.Add(ref s, 2)), x3 = Vector256.Create(Unsafe.Add(ref s, 3)),
            x4 = Vector256.Create(Unsafe.Add(ref s, 4)), x5 = Vector256.Create(Unsafe.Add(ref s, 5)),
            x6 = Vector256.Create(Unsafe.Add(ref s, 6)), x7 = Vector256.Create(Unsafe.Add(ref s, 7)),
            x8 = Vector256.Create(Unsafe.Add(ref s, 8)), x9 = Vector256.Create(Unsafe.Add(ref s, 9)),
            x10 = Vector256.Create(Unsafe.Add(ref s, 10)), x11 = Vector256.Create(Unsafe.Add(ref s, 11)),
            x12 = low, x13 = high,
            x14 = Vector256.Create(Unsafe.Add(ref s, 14)), x15 = Vector256.Create(Unsafe.Add(ref s, 15));
        for (int r = 0; r < doubleRounds; r++)
        {
            x0 += x4; x12 = Rotate16(x12 ^ x0);
            x1 += x5; x13 = Rotate16(x13 ^ x1);
            x2 += x6; x14 = Rotate16(x14 ^ x2);
            x3 += x7; x15 = Rotate16(x15 ^ x3);
            x8 += x12; x4 = Rotate12(x4 ^ x8);
            x9 += x13; x5 = Rotate12(x5 ^ x9);
            x10 += x14; x6 = Rotate12(x6 ^ x10);
            x11 += x15; x7 = Rotate12(x7 ^ x11);
            x0 += x4; x12 = Rotate8(x12 ^ x0);
            x1 += x5; x13 = Rotate8(x13 ^ x1);
            x2 += x6; x14 = Rotate8(x14 ^ x2);
            x3 += x7; x15 = Rotate8(x15 ^ x3);
            x8 += x12; x4 = Rotate7(x4 ^ x8);
            x9 += x13; x5 = Rotate7(x5 ^ x9);
            x10 += x14; x6 = Rotate7(x6 ^ x10);
            x11 += x15; x7 = Rotate7(x7 ^ x11);
            x0 += x5; x15 = Rotate16(x15 ^ x0);
            x1 += x6; x12 = Rotate16(x12 ^ x1);
            x2 += x7; x13 = Rotate16(x13 ^ x2);
            x3 += x4; x14 = Rotate16(x14 ^ x3);
            x10 += x15; x5 = Rotate12(x5 ^ x10);
            x11 += x12; x6 = Rotate12(x6 ^ x11);
            x8 += x13; x7 = Rotate12(x7 ^ x8);
            x9 += x14; x4 = Rotate12(x4 ^ x9);
            x0 += x5; x15 = Rotate8(x15 ^ x0);
            x1 += x6; x12 = Rotate8(x12 ^ x1);
            x2 += x7; x13 = Rotate8(x13 ^ x2);
            x3 += x4; x14 = Rotate8(x14 ^ x3);
            x10 += x15; x5 = Rotate7(x5 ^ x10);
            x11 += x12; x6 = Rotate7(x6 ^ x11);
            x8 += x13; x7 = Rotate7(x7 ^ x8);
            x9 += x14; x4 = Rotate7(x4 ^ x9);
        }
        ref uint o = ref Unsafe.Add(ref MemoryMarshal.GetReference(words), firstLane);
        (x0 + Vector256.Create(s)).StoreUnsafe(ref o, 0);
        (x1 + Vector256.Create(Unsafe.Add(ref s, 1))).StoreUnsafe(ref o, 16);
        (x2 + Vector256.Create(Unsafe.Add(ref s, 2))).StoreUnsafe(ref o, 32);
        (x3 + Vector256.Create(Unsafe.Add(ref s, 3))).StoreUnsafe(ref o, 48);
        (x4 + Vector256.Create(Unsafe.Add(ref s, 4))).StoreUnsafe(ref o, 64);
        (x5 + Vector256.Create(Unsafe.Add(ref s, 5))).StoreUnsafe(ref o, 80);
        (x6 + Vector256.Create(Unsafe.Add(ref s, 6))).StoreUnsafe(ref o, 96);
        (x7 + Vector256.Create(Unsafe.Add(ref s, 7))).StoreUnsafe(ref o, 112);
        (x8 + Vector256.Create(Unsafe.Add(ref s, 8))).StoreUnsafe(ref o, 128);
        (x9 + Vector256.Create(Unsafe.Add(ref s, 9))).StoreUnsafe(ref o, 144);
        (x10 + Vector256.Create(Unsafe.Add(ref s, 10))).StoreUnsafe(ref o, 160);
        (x11 + Vector256.Create(Unsafe.Add(ref s, 11))).StoreUnsafe(ref o, 176);
        (x12 + low).StoreUnsafe(ref o, 192);
        (x13 + high).StoreUnsafe(ref o, 208);
        (x14 + Vector256.Create(Unsafe.Add(ref s, 14))).StoreUnsafe(ref o, 224);
        (x15 + Vector256.Create(Unsafe.Add(ref s, 15))).StoreUnsafe(ref o, 240);
    }

    /// <summary>Iota: lane l of a 16-block batch adds l to the block counter.</summary>
    private static readonly Vector512<uint> Iota = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    /// <summary>
    /// target[0 .. 256) += (or -=, <paramref name="sign"/> all ones) the 16-block batch of <paramref name="state"/>
    /// (as <see cref="Batch"/> gives it), added straight from the registers. Requires <see cref="Avx512F"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddBatch512(ReadOnlySpan<uint> state, int doubleRounds, ref int target, Vector512<int> sign)
    {
        if (sign == Vector512<int>.Zero) AddBatch512<Plus>(state, doubleRounds, ref target);
        else AddBatch512<Minus>(state, doubleRounds, ref target);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddBatch512<TSign>(ReadOnlySpan<uint> state, int doubleRounds, ref int target) where TSign : struct, IMaskSign
    {
        ref uint s = ref MemoryMarshal.GetReference(state);
        ulong counterx = state[12] | (ulong)state[13] << 32;
        var firstx = Vector512.Create((uint)counterx);
        var lowx = firstx + Iota;
        var highx = Vector512.Create((uint)(counterx >> 32)) - Vector512.LessThan(lowx, firstx);
        Vector512<uint> x0 = Vector512.Create(s), x1 = Vector512.Create(Unsafe.Add(ref s, 1)),
            x2 = Vector512.Create(Unsafe.Add(ref s, 2)), x3 = Vector512.Create(Unsafe.Add(ref s, 3)),
            x4 = Vector512.Create(Unsafe.Add(ref s, 4)), x5 = Vector512.Create(Unsafe.Add(ref s, 5)),
            x6 = Vector512.Create(Unsafe.Add(ref s, 6)), x7 = Vector512.Create(Unsafe.Add(ref s, 7)),
            x8 = Vector512.Create(Unsafe.Add(ref s, 8)), x9 = Vector512.Create(Unsafe.Add(ref s, 9)),
            x10 = Vector512.Create(Unsafe.Add(ref s, 10)), x11 = Vector512.Create(Unsafe.Add(ref s, 11)),
            x12 = lowx, x13 = highx,
            x14 = Vector512.Create(Unsafe.Add(ref s, 14)), x15 = Vector512.Create(Unsafe.Add(ref s, 15));

        for (int r = 0; r < doubleRounds; r++)
        {
            x0 += x4; x12 = Rotate16(x12 ^ x0);
            x1 += x5; x13 = Rotate16(x13 ^ x1);
            x2 += x6; x14 = Rotate16(x14 ^ x2);
            x3 += x7; x15 = Rotate16(x15 ^ x3);
            x8 += x12; x4 = Rotate12(x4 ^ x8);
            x9 += x13; x5 = Rotate12(x5 ^ x9);
            x10 += x14; x6 = Rotate12(x6 ^ x10);
            x11 += x15; x7 = Rotate12(x7 ^ x11);
            x0 += x4; x12 = Rotate8(x12 ^ x0);
            x1 += x5; x13 = Rotate8(x13 ^ x1);
            x2 += x6; x14 = Rotate8(x14 ^ x2);
            x3 += x7; x15 = Rotate8(x15 ^ x3);
            x8 += x12; x4 = Rotate7(x4 ^ x8);
            x9 += x13; x5 = Rotate7(x5 ^ x9);
            x10 += x14; x6 = Rotate7(x6 ^ x10);
            x11 += x15; x7 = Rotate7(x7 ^ x11);
            x0 += x5; x15 = Rotate16(x15 ^ x0);
            x1 += x6; x12 = Rotate16(x12 ^ x1);
            x2 += x7; x13 = Rotate16(x13 ^ x2);
            x3 += x4; x14 = Rotate16(x14 ^ x3);
            x10 += x15; x5 = Rotate12(x5 ^ x10);
            x11 += x12; x6 = Rotate12(x6 ^ x11);
            x8 += x13; x7 = Rotate12(x7 ^ x8);
            x9 += x14; x4 = Rotate12(x4 ^ x9);
            x0 += x5; x15 = Rotate8(x15 ^ x0);
            x1 += x6; x12 = Rotate8(x12 ^ x1);
            x2 += x7; x13 = Rotate8(x13 ^ x2);
            x3 += x4; x14 = Rotate8(x14 ^ x3);
            x10 += x15; x5 = Rotate7(x5 ^ x10);
            x11 += x12; x6 = Rotate7(x6 ^ x11);
            x8 += x13; x7 = Rotate7(x7 ^ x8);
            x9 += x14; x4 = Rotate7(x4 ^ x9);
        }
        AddSigned<TSign>(ref target, 0, x0 + Vector512.Create(s));
        AddSigned<TSign>(ref target, 16, x1 + Vector512.Create(Unsafe.Add(ref s, 1)));
        AddSigned<TSign>(ref target, 32, x2 + Vector512.Create(Unsafe.Add(ref s, 2)));
        AddSigned<TSign>(ref target, 48, x3 + Vector512.Create(Unsafe.Add(ref s, 3)));
        AddSigned<TSign>(ref target, 64, x4 + Vector512.Create(Unsafe.Add(ref s, 4)));
        AddSigned<TSign>(ref target, 80, x5 + Vector512.Create(Unsafe.Add(ref s, 5)));
        AddSigned<TSign>(ref target, 96, x6 + Vector512.Create(Unsafe.Add(ref s, 6)));
        AddSigned<TSign>(ref target, 112, x7 + Vector512.Create(Unsafe.Add(ref s, 7)));
        AddSigned<TSign>(ref target, 128, x8 + Vector512.Create(Unsafe.Add(ref s, 8)));
        AddSigned<TSign>(ref target, 144, x9 + Vector512.Create(Unsafe.Add(ref s, 9)));
        AddSigned<TSign>(ref target, 160, x10 + Vector512.Create(Unsafe.Add(ref s, 10)));
        AddSigned<TSign>(ref target, 176, x11 + Vector512.Create(Unsafe.Add(ref s, 11)));
        AddSigned<TSign>(ref target, 192, x12 + lowx);
        AddSigned<TSign>(ref target, 208, x13 + highx);
        AddSigned<TSign>(ref target, 224, x14 + Vector512.Create(Unsafe.Add(ref s, 14)));
        AddSigned<TSign>(ref target, 240, x15 + Vector512.Create(Unsafe.Add(ref s, 15)));
    }

    /// <summary>
    /// Two consecutive batches (32 blocks, 512 words) added into target[0 .. 512), their rounds interleaved so that
    /// eight quarter rounds are in flight instead of four: one quarter-round step is three dependent instructions,
    /// and four chains alone leave the vector units waiting on latency. All 32 zmm registers hold state.
    /// Requires <see cref="Avx512F"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddBatch512x2(ReadOnlySpan<uint> state, int doubleRounds, ref int target, Vector512<int> sign)
    {
        if (sign == Vector512<int>.Zero) AddBatch512x2<Plus>(state, doubleRounds, ref target);
        else AddBatch512x2<Minus>(state, doubleRounds, ref target);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddBatch512x2<TSign>(ReadOnlySpan<uint> state, int doubleRounds, ref int target) where TSign : struct, IMaskSign
    {
        ref uint s = ref MemoryMarshal.GetReference(state);
        ulong counterx = state[12] | (ulong)state[13] << 32;
        var firstx = Vector512.Create((uint)counterx);
        var lowx = firstx + Iota;
        var highx = Vector512.Create((uint)(counterx >> 32)) - Vector512.LessThan(lowx, firstx);
        Vector512<uint> x0 = Vector512.Create(s), x1 = Vector512.Create(Unsafe.Add(ref s, 1)),
            x2 = Vector512.Create(Unsafe.Add(ref s, 2)), x3 = Vector512.Create(Unsafe.Add(ref s, 3)),
            x4 = Vector512.Create(Unsafe.Add(ref s, 4)), x5 = Vector512.Create(Unsafe.Add(ref s, 5)),
            x6 = Vector512.Create(Unsafe.Add(ref s, 6)), x7 = Vector512.Create(Unsafe.Add(ref s, 7)),
            x8 = Vector512.Create(Unsafe.Add(ref s, 8)), x9 = Vector512.Create(Unsafe.Add(ref s, 9)),
            x10 = Vector512.Create(Unsafe.Add(ref s, 10)), x11 = Vector512.Create(Unsafe.Add(ref s, 11)),
            x12 = lowx, x13 = highx,
            x14 = Vector512.Create(Unsafe.Add(ref s, 14)), x15 = Vector512.Create(Unsafe.Add(ref s, 15));

        ulong countery = counterx + ChaCha.BatchBlocks;
        var firsty = Vector512.Create((uint)countery);
        var lowy = firsty + Iota;
        var highy = Vector512.Create((uint)(countery >> 32)) - Vector512.LessThan(lowy, firsty);
        Vector512<uint> y0 = Vector512.Create(s), y1 = Vector512.Create(Unsafe.Add(ref s, 1)),
            y2 = Vector512.Create(Unsafe.Add(ref s, 2)), y3 = Vector512.Create(Unsafe.Add(ref s, 3)),
            y4 = Vector512.Create(Unsafe.Add(ref s, 4)), y5 = Vector512.Create(Unsafe.Add(ref s, 5)),
            y6 = Vector512.Create(Unsafe.Add(ref s, 6)), y7 = Vector512.Create(Unsafe.Add(ref s, 7)),
            y8 = Vector512.Create(Unsafe.Add(ref s, 8)), y9 = Vector512.Create(Unsafe.Add(ref s, 9)),
            y10 = Vector512.Create(Unsafe.Add(ref s, 10)), y11 = Vector512.Create(Unsafe.Add(ref s, 11)),
            y12 = lowy, y13 = highy,
            y14 = Vector512.Create(Unsafe.Add(ref s, 14)), y15 = Vector512.Create(Unsafe.Add(ref s, 15));

        for (int r = 0; r < doubleRounds; r++)
        {
            x0 += x4; x12 = Rotate16(x12 ^ x0);
            y0 += y4; y12 = Rotate16(y12 ^ y0);
            x1 += x5; x13 = Rotate16(x13 ^ x1);
            y1 += y5; y13 = Rotate16(y13 ^ y1);
            x2 += x6; x14 = Rotate16(x14 ^ x2);
            y2 += y6; y14 = Rotate16(y14 ^ y2);
            x3 += x7; x15 = Rotate16(x15 ^ x3);
            y3 += y7; y15 = Rotate16(y15 ^ y3);
            x8 += x12; x4 = Rotate12(x4 ^ x8);
            y8 += y12; y4 = Rotate12(y4 ^ y8);
            x9 += x13; x5 = Rotate12(x5 ^ x9);
            y9 += y13; y5 = Rotate12(y5 ^ y9);
            x10 += x14; x6 = Rotate12(x6 ^ x10);
            y10 += y14; y6 = Rotate12(y6 ^ y10);
            x11 += x15; x7 = Rotate12(x7 ^ x11);
            y11 += y15; y7 = Rotate12(y7 ^ y11);
            x0 += x4; x12 = Rotate8(x12 ^ x0);
            y0 += y4; y12 = Rotate8(y12 ^ y0);
            x1 += x5; x13 = Rotate8(x13 ^ x1);
            y1 += y5; y13 = Rotate8(y13 ^ y1);
            x2 += x6; x14 = Rotate8(x14 ^ x2);
            y2 += y6; y14 = Rotate8(y14 ^ y2);
            x3 += x7; x15 = Rotate8(x15 ^ x3);
            y3 += y7; y15 = Rotate8(y15 ^ y3);
            x8 += x12; x4 = Rotate7(x4 ^ x8);
            y8 += y12; y4 = Rotate7(y4 ^ y8);
            x9 += x13; x5 = Rotate7(x5 ^ x9);
            y9 += y13; y5 = Rotate7(y5 ^ y9);
            x10 += x14; x6 = Rotate7(x6 ^ x10);
            y10 += y14; y6 = Rotate7(y6 ^ y10);
            x11 += x15; x7 = Rotate7(x7 ^ x11);
            y11 += y15; y7 = Rotate7(y7 ^ y11);
            x0 += x5; x15 = Rotate16(x15 ^ x0);
            y0 += y5; y15 = Rotate16(y15 ^ y0);
            x1 += x6; x12 = Rotate16(x12 ^ x1);
            y1 += y6; y12 = Rotate16(y12 ^ y1);
            x2 += x7; x13 = Rotate16(x13 ^ x2);
            y2 += y7; y13 = Rotate16(y13 ^ y2);
            x3 += x4; x14 = Rotate16(x14 ^ x3);
            y3 += y4; y14 = Rotate16(y14 ^ y3);
            x10 += x15; x5 = Rotate12(x5 ^ x10);
            y10 += y15; y5 = Rotate12(y5 ^ y10);
            x11 += x12; x6 = Rotate12(x6 ^ x11);
            y11 += y12; y6 = Rotate12(y6 ^ y11);
            x8 += x13; x7 = Rotate12(x7 ^ x8);
            y8 += y13; y7 = Rotate12(y7 ^ y8);
            x9 += x14; x4 = Rotate12(x4 ^ x9);
            y9 += y14; y4 = Rotate12(y4 ^ y9);
            x0 += x5; x15 = Rotate8(x15 ^ x0);
            y0 += y5; y15 = Rotate8(y15 ^ y0);
            x1 += x6; x12 = Rotate8(x12 ^ x1);
            y1 += y6; y12 = Rotate8(y12 ^ y1);
            x2 += x7; x13 = Rotate8(x13 ^ x2);
            y2 += y7; y13 = Rotate8(y13 ^ y2);
            x3 += x4; x14 = Rotate8(x14 ^ x3);
            y3 += y4; y14 = Rotate8(y14 ^ y3);
            x10 += x15; x5 = Rotate7(x5 ^ x10);
            y10 += y15; y5 = Rotate7(y5 ^ y10);
            x11 += x12; x6 = Rotate7(x6 ^ x11);
            y11 += y12; y6 = Rotate7(y6 ^ y11);
            x8 += x13; x7 = Rotate7(x7 ^ x8);
            y8 += y13; y7 = Rotate7(y7 ^ y8);
            x9 += x14; x4 = Rotate7(x4 ^ x9);
            y9 += y14; y4 = Rotate7(y4 ^ y9);
        }
        // The same stores as AddBatch512's, written out: a shared helper would take 16 vectors and more, past what the
        // JIT inlines, and the state would go through the stack in the hottest loop of the masked ring.
        AddSigned<TSign>(ref target, 0, x0 + Vector512.Create(s));
        AddSigned<TSign>(ref target, 16, x1 + Vector512.Create(Unsafe.Add(ref s, 1)));
        AddSigned<TSign>(ref target, 32, x2 + Vector512.Create(Unsafe.Add(ref s, 2)));
        AddSigned<TSign>(ref target, 48, x3 + Vector512.Create(Unsafe.Add(ref s, 3)));
        AddSigned<TSign>(ref target, 64, x4 + Vector512.Create(Unsafe.Add(ref s, 4)));
        AddSigned<TSign>(ref target, 80, x5 + Vector512.Create(Unsafe.Add(ref s, 5)));
        AddSigned<TSign>(ref target, 96, x6 + Vector512.Create(Unsafe.Add(ref s, 6)));
        AddSigned<TSign>(ref target, 112, x7 + Vector512.Create(Unsafe.Add(ref s, 7)));
        AddSigned<TSign>(ref target, 128, x8 + Vector512.Create(Unsafe.Add(ref s, 8)));
        AddSigned<TSign>(ref target, 144, x9 + Vector512.Create(Unsafe.Add(ref s, 9)));
        AddSigned<TSign>(ref target, 160, x10 + Vector512.Create(Unsafe.Add(ref s, 10)));
        AddSigned<TSign>(ref target, 176, x11 + Vector512.Create(Unsafe.Add(ref s, 11)));
        AddSigned<TSign>(ref target, 192, x12 + lowx);
        AddSigned<TSign>(ref target, 208, x13 + highx);
        AddSigned<TSign>(ref target, 224, x14 + Vector512.Create(Unsafe.Add(ref s, 14)));
        AddSigned<TSign>(ref target, 240, x15 + Vector512.Create(Unsafe.Add(ref s, 15)));
        AddSigned<TSign>(ref target, 256, y0 + Vector512.Create(s));
        AddSigned<TSign>(ref target, 272, y1 + Vector512.Create(Unsafe.Add(ref s, 1)));
        AddSigned<TSign>(ref target, 288, y2 + Vector512.Create(Unsafe.Add(ref s, 2)));
        AddSigned<TSign>(ref target, 304, y3 + Vector512.Create(Unsafe.Add(ref s, 3)));
        AddSigned<TSign>(ref target, 320, y4 + Vector512.Create(Unsafe.Add(ref s, 4)));
        AddSigned<TSign>(ref target, 336, y5 + Vector512.Create(Unsafe.Add(ref s, 5)));
        AddSigned<TSign>(ref target, 352, y6 + Vector512.Create(Unsafe.Add(ref s, 6)));
        AddSigned<TSign>(ref target, 368, y7 + Vector512.Create(Unsafe.Add(ref s, 7)));
        AddSigned<TSign>(ref target, 384, y8 + Vector512.Create(Unsafe.Add(ref s, 8)));
        AddSigned<TSign>(ref target, 400, y9 + Vector512.Create(Unsafe.Add(ref s, 9)));
        AddSigned<TSign>(ref target, 416, y10 + Vector512.Create(Unsafe.Add(ref s, 10)));
        AddSigned<TSign>(ref target, 432, y11 + Vector512.Create(Unsafe.Add(ref s, 11)));
        AddSigned<TSign>(ref target, 448, y12 + lowy);
        AddSigned<TSign>(ref target, 464, y13 + highy);
        AddSigned<TSign>(ref target, 480, y14 + Vector512.Create(Unsafe.Add(ref s, 14)));
        AddSigned<TSign>(ref target, 496, y15 + Vector512.Create(Unsafe.Add(ref s, 15)));
    }

    /// <summary>target[offset .. offset+16) += mask, or -= mask for <see cref="Minus"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddSigned<TSign>(ref int target, nuint offset, Vector512<uint> mask) where TSign : struct, IMaskSign
    {
        var value = Vector512.LoadUnsafe(ref target, offset);
        TSign.Apply(value, mask.AsInt32()).StoreUnsafe(ref target, offset);
    }

    /// <summary>
    /// The sign of a peer's mask as a type, so each sign gets a kernel of its own: a sign applied at run time as
    /// (m ^ s) - s cost two more vector operations per 16 words, 64 per 512 against about 830 for the rounds and adds
    /// (on Zen 4, where 512-bit operations take two of the four vector pipes, the kernel is bound by that count).
    /// </summary>
    internal interface IMaskSign
    {
        static abstract Vector512<int> Apply(Vector512<int> value, Vector512<int> mask);
    }

    internal struct Plus : IMaskSign
    {
        public static Vector512<int> Apply(Vector512<int> value, Vector512<int> mask) => value + mask;
    }

    internal struct Minus : IMaskSign
    {
        public static Vector512<int> Apply(Vector512<int> value, Vector512<int> mask) => value - mask;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Rotate16(Vector512<uint> x) => Avx512F.RotateLeft(x, 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Rotate12(Vector512<uint> x) => Avx512F.RotateLeft(x, 12);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Rotate8(Vector512<uint> x) => Avx512F.RotateLeft(x, 8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Rotate7(Vector512<uint> x) => Avx512F.RotateLeft(x, 7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Rotate16(Vector256<uint> x) => (x << 16) | (x >>> 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Rotate12(Vector256<uint> x) => (x << 12) | (x >>> 20);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Rotate8(Vector256<uint> x) => (x << 8) | (x >>> 24);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Rotate7(Vector256<uint> x) => (x << 7) | (x >>> 25);
}
