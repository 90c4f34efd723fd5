using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// A dense layer's parameter gradients, dW = Xᵀ dZ and db = the column sums of dZ, over a batch cut into parts
/// (micro-batches), added in one fixed order that does not depend on how many parts a call holds. Vocabulary: a part
/// is a run of consecutive rows; its leaf is its own sum, rows added in order (dW with fused multiply-adds from 0);
/// the parts' leaves are added as a binary tree, ((g0 + g1) + (g2 + g3)) + ..., each node's left child first.
/// <para>
/// Why a tree: a rank holding parts [r L, (r + 1) L) of P (L a power of two) computes exactly the subtree over its
/// L parts, and recursive doubling over the ranks (round k adds the partners that differ in bit k, the lower first)
/// adds exactly the tree's upper levels. So the total has the same bits on 1, 2, ... P ranks, in-process or under
/// MPI, with plain float additions, where the fixed-point reproducible sum costs several passes and longs on the wire.
/// </para>
/// <para>
/// The tree is built incrementally as a binary counter: after leaf p (from 0) the running value is merged with the
/// top of a stack ctz(p + 1) times (stack + running), then pushed; after the last leaf, what is left on the stack is
/// folded from the top (stack + running). For L a power of two that is the balanced tree; otherwise node [lo, hi)
/// splits at lo + the largest power of two below hi - lo. The stack holds at most log2 L + 1 tiles of 6 x 16 floats
/// per thread, so the partials stay in L1 instead of L full gradients going through memory.
/// </para>
/// <para>
/// Work split: threads take whole tiles of dW rows, and every element is computed the same way wherever a tile
/// falls, so the bits do not depend on the thread count or the tile shape: 8 x 32 with AVX-512
/// (TreeOrderedGradient.Avx512.cs), 6 x 16 with AVX2; each element's leaf is the same fused multiply-add chain.
/// </para>
/// </summary>
internal static unsafe partial class TreeOrderedGradient
{
    /// <summary>The AVX2 tile: 6 rows of dW x 16 columns, 12 accumulators of 8 floats.</summary>
    private const int MR = 6;
    private const int NR = 16;

    private static readonly bool WideSupported = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>
    /// weightGradient (inFeatures x outFeatures) and biasGradient (outFeatures), overwritten, from the first
    /// partEnds[^1] rows of <paramref name="input"/> (rows x inFeatures) and <paramref name="outputGradient"/>
    /// (rows x outFeatures). Part p is rows [partEnds[p - 1], partEnds[p]) (part 0 starts at row 0); ends must not
    /// decrease. No parts gives zero gradients.
    /// </summary>
    public static void Compute(float[] input, float[] outputGradient, float[] weightGradient, float[] biasGradient,
        ReadOnlySpan<int> partEnds, int inFeatures, int outFeatures, int maxThreads, KernelWorkers? workers = null) =>
        Compute(input, outputGradient, weightGradient, biasGradient, partEnds, inFeatures, outFeatures, maxThreads, WideSupported, workers);

    /// <summary><see cref="Compute(float[], float[], float[], float[], ReadOnlySpan{int}, int, int, int, KernelWorkers)"/> with the
    /// tile chosen: <paramref name="wide"/> for AVX-512's 8 x 32 (where supported), else AVX2's 6 x 16. Same bits
    /// either way; tests run both. The tiles are spread over <paramref name="workers"/> (the backend's persistent threads,
    /// cheaper to wake than a Parallel.For) when they are free, else over the thread pool.</summary>
    internal static void Compute(float[] input, float[] outputGradient, float[] weightGradient, float[] biasGradient,
        ReadOnlySpan<int> partEnds, int inFeatures, int outFeatures, int maxThreads, bool wide, KernelWorkers? workers = null)
    {
        wide &= WideSupported;
        int mr = wide ? WideMR : MR, nr = wide ? WideNR : NR;
        int parts = partEnds.Length;
        int rows = parts == 0 ? 0 : partEnds[^1];
        if (parts == 0 || rows == 0)
        {
            Array.Clear(weightGradient, 0, inFeatures * outFeatures);
            Array.Clear(biasGradient, 0, outFeatures);
            return;
        }
        int panels = (outFeatures + nr - 1) / nr;
        int tiles = (inFeatures + mr - 1) / mr;
        int depth = 33 - BitOperations.LeadingZeroCount((uint)parts);
        int[] ends = ArrayPool<int>.Shared.Rent(parts);
        float[] packedGradient = ArrayPool<float>.Shared.Rent(panels * rows * nr);
        try
        {
            partEnds.CopyTo(ends);
            fixed (float* dz = outputGradient, packed = packedGradient, db = biasGradient)
            fixed (int* e = ends)
            {
                PackPanels(dz, rows, outFeatures, packed, nr);
                float* stack = stackalloc float[depth * NR];
                // The bias in 16-column pieces of each panel: every column is summed alone, so the piece width is free.
                for (int j0 = 0; j0 < outFeatures; j0 += NR)
                    BiasPanel(packed + (long)(j0 / nr) * rows * nr + j0 % nr, nr, e, parts, stack, db + j0, Math.Min(NR, outFeatures - j0));
            }

            // Small layers stay on the calling thread: waking another costs more than they do.
            long flops = 2L * rows * inFeatures * outFeatures;
            int chunks = flops < 2_000_000 ? 1 : Math.Min(maxThreads, tiles);
            if (chunks <= 1)
            {
                WeightTiles(input, packedGradient, weightGradient, ends, parts, depth, rows, inFeatures, outFeatures, 0, tiles, wide);
            }
            else
            {
                int perChunk = (tiles + chunks - 1) / chunks;
                Action<int> chunk = c => WeightTiles(input, packedGradient, weightGradient, ends, parts, depth, rows, inFeatures, outFeatures,
                    c * perChunk, Math.Min(tiles, (c + 1) * perChunk), wide);
                if (workers is null || !workers.TryFor(chunks, chunk))
                    Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, chunk);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedGradient);
            ArrayPool<int>.Shared.Return(ends);
        }
    }

    /// <summary>dZ as panels of <paramref name="nr"/> (16 or 32) columns, each rows x nr contiguous and zero-padded past
    /// the last column, so every tile reads whole vectors whatever outFeatures is.</summary>
    private static void PackPanels(float* dz, int rows, int columns, float* packed, int nr)
    {
        for (int jp = 0, j0 = 0; j0 < columns; jp++, j0 += nr)
        {
            int cols = Math.Min(nr, columns - j0);
            float* panel = packed + (long)jp * rows * nr;
            for (int s = 0; s < rows; s++)
            {
                float* src = dz + (long)s * columns + j0;
                float* dst = panel + (long)s * nr;
                if (cols == nr)
                {
                    for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
                }
                else
                {
                    int j = 0;
                    for (; j < cols; j++) dst[j] = src[j];
                    for (; j < nr; j++) dst[j] = 0f;
                }
            }
        }
    }

    /// <summary>db for 16 columns of a panel whose rows are <paramref name="stride"/> floats apart: per part the rows
    /// added in order, then the tree.</summary>
    private static void BiasPanel(float* panel, int stride, int* ends, int parts, float* stack, float* db, int cols)
    {
        int top = 0, start = 0;
        Vector256<float> lo = default, hi = default;
        for (int p = 0; p < parts; p++)
        {
            lo = Vector256<float>.Zero;
            hi = Vector256<float>.Zero;
            int end = ends[p];
            for (int s = start; s < end; s++)
            {
                lo += Vector256.Load(panel + (long)s * stride);
                hi += Vector256.Load(panel + (long)s * stride + 8);
            }
            start = end;
            int merges = p == parts - 1 ? top : BitOperations.TrailingZeroCount(p + 1);
            for (int m = 0; m < merges; m++)
            {
                float* t = stack + (long)--top * NR;
                lo = Vector256.Load(t) + lo;
                hi = Vector256.Load(t + 8) + hi;
            }
            if (p < parts - 1)
            {
                float* t = stack + (long)top++ * NR;
                Vector256.Store(lo, t);
                Vector256.Store(hi, t + 8);
            }
        }
        float* result = stackalloc float[NR];
        Vector256.Store(lo, result);
        Vector256.Store(hi, result + 8);
        for (int j = 0; j < cols; j++) db[j] = result[j];
    }

    /// <summary>dW rows of tiles [firstTile, endTile): each thread packs its own slivers of X (a tile's rows of dW).</summary>
    private static void WeightTiles(float[] input, float[] packedGradient, float[] weightGradient, int[] ends, int parts, int depth,
        int rows, int inFeatures, int outFeatures, int firstTile, int endTile, bool wide)
    {
        int mr = wide ? WideMR : MR, nr = wide ? WideNR : NR;
        float[] packedInput = ArrayPool<float>.Shared.Rent(rows * mr);
        try
        {
            fixed (float* x = input, packed = packedGradient, dw = weightGradient, sliver = packedInput)
            fixed (int* e = ends)
            {
                float* stack = stackalloc float[depth * mr * nr];
                int panels = (outFeatures + nr - 1) / nr;
                for (int t = firstTile; t < endTile; t++)
                {
                    int i0 = t * mr, tileRows = Math.Min(mr, inFeatures - i0);
                    PackSliver(x, rows, inFeatures, i0, tileRows, sliver, mr);
                    for (int jp = 0; jp < panels; jp++)
                    {
                        int j0 = jp * nr;
                        float* panel = packed + (long)jp * rows * nr, tileOut = dw + (long)i0 * outFeatures + j0;
                        int tileCols = Math.Min(nr, outFeatures - j0);
                        if (wide) WideTile(sliver, panel, e, parts, stack, tileOut, outFeatures, tileRows, tileCols);
                        else Tile(sliver, panel, e, parts, stack, tileOut, outFeatures, tileRows, tileCols);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedInput);
        }
    }

    /// <summary>X[0..rows, i0..i0+mr] as rows groups of mr values, zero-padded past the last feature.</summary>
    private static void PackSliver(float* x, int rows, int inFeatures, int i0, int tileRows, float* sliver, int mr)
    {
        if (mr == 8 && tileRows == 8)
        {
            // The AVX-512 tile's full slivers: one 8-float vector a row (the scalar loop below was a fifth of the call).
            for (int s = 0; s < rows; s++) Vector256.Store(Vector256.Load(x + (long)s * inFeatures + i0), sliver + (long)s * 8);
            return;
        }
        for (int s = 0; s < rows; s++)
        {
            float* src = x + (long)s * inFeatures + i0;
            float* dst = sliver + (long)s * mr;
            int r = 0;
            for (; r < tileRows; r++) dst[r] = src[r];
            for (; r < mr; r++) dst[r] = 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fmadd(Vector256<float> x, Vector256<float> y, Vector256<float> acc) =>
        Fma.IsSupported ? Fma.MultiplyAdd(x, y, acc) : acc + x * y;

    /// <summary>One 6 x 16 tile of dW: 12 AVX accumulators per part's leaf, then the tree through the stack.</summary>
    private static void Tile(float* sliver, float* panel, int* ends, int parts, float* stack, float* dw, int ldw, int tileRows, int tileCols)
    {
        const int TileFloats = MR * NR;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        int top = 0, start = 0;
        for (int p = 0; p < parts; p++)
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
            int end = ends[p];
            float* ap = sliver + (long)start * MR;
            float* bp = panel + (long)start * NR;
            for (int s = start; s < end; s++, ap += MR, bp += NR)
            {
                Vector256<float> b0 = Vector256.Load(bp);
                Vector256<float> b1 = Vector256.Load(bp + 8);
                Vector256<float> a = Vector256.Create(ap[0]);
                c00 = Fmadd(a, b0, c00); c01 = Fmadd(a, b1, c01);
                a = Vector256.Create(ap[1]);
                c10 = Fmadd(a, b0, c10); c11 = Fmadd(a, b1, c11);
                a = Vector256.Create(ap[2]);
                c20 = Fmadd(a, b0, c20); c21 = Fmadd(a, b1, c21);
                a = Vector256.Create(ap[3]);
                c30 = Fmadd(a, b0, c30); c31 = Fmadd(a, b1, c31);
                a = Vector256.Create(ap[4]);
                c40 = Fmadd(a, b0, c40); c41 = Fmadd(a, b1, c41);
                a = Vector256.Create(ap[5]);
                c50 = Fmadd(a, b0, c50); c51 = Fmadd(a, b1, c51);
            }
            start = end;
            int merges = p == parts - 1 ? top : BitOperations.TrailingZeroCount(p + 1);
            for (int m = 0; m < merges; m++)
            {
                float* t = stack + (long)--top * TileFloats;
                c00 = Vector256.Load(t) + c00; c01 = Vector256.Load(t + 8) + c01;
                c10 = Vector256.Load(t + 16) + c10; c11 = Vector256.Load(t + 24) + c11;
                c20 = Vector256.Load(t + 32) + c20; c21 = Vector256.Load(t + 40) + c21;
                c30 = Vector256.Load(t + 48) + c30; c31 = Vector256.Load(t + 56) + c31;
                c40 = Vector256.Load(t + 64) + c40; c41 = Vector256.Load(t + 72) + c41;
                c50 = Vector256.Load(t + 80) + c50; c51 = Vector256.Load(t + 88) + c51;
            }
            if (p < parts - 1)
            {
                float* t = stack + (long)top++ * TileFloats;
                Vector256.Store(c00, t); Vector256.Store(c01, t + 8);
                Vector256.Store(c10, t + 16); Vector256.Store(c11, t + 24);
                Vector256.Store(c20, t + 32); Vector256.Store(c21, t + 40);
                Vector256.Store(c30, t + 48); Vector256.Store(c31, t + 56);
                Vector256.Store(c40, t + 64); Vector256.Store(c41, t + 72);
                Vector256.Store(c50, t + 80); Vector256.Store(c51, t + 88);
            }
        }

        if (tileRows == MR && tileCols == NR)
        {
            Vector256.Store(c00, dw); Vector256.Store(c01, dw + 8);
            Vector256.Store(c10, dw + ldw); Vector256.Store(c11, dw + ldw + 8);
            Vector256.Store(c20, dw + 2L * ldw); Vector256.Store(c21, dw + 2L * ldw + 8);
            Vector256.Store(c30, dw + 3L * ldw); Vector256.Store(c31, dw + 3L * ldw + 8);
            Vector256.Store(c40, dw + 4L * ldw); Vector256.Store(c41, dw + 4L * ldw + 8);
            Vector256.Store(c50, dw + 5L * ldw); Vector256.Store(c51, dw + 5L * ldw + 8);
            return;
        }
        float* tile = stackalloc float[TileFloats];
        Vector256.Store(c00, tile); Vector256.Store(c01, tile + 8);
        Vector256.Store(c10, tile + 16); Vector256.Store(c11, tile + 24);
        Vector256.Store(c20, tile + 32); Vector256.Store(c21, tile + 40);
        Vector256.Store(c30, tile + 48); Vector256.Store(c31, tile + 56);
        Vector256.Store(c40, tile + 64); Vector256.Store(c41, tile + 72);
        Vector256.Store(c50, tile + 80); Vector256.Store(c51, tile + 88);
        for (int r = 0; r < tileRows; r++)
        {
            for (int j = 0; j < tileCols; j++) dw[(long)r * ldw + j] = tile[r * NR + j];
        }
    }
}
