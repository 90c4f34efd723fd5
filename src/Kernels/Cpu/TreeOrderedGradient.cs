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
/// Work split: threads take whole 6-row tiles of dW, and every element is computed the same way wherever a tile
/// falls, so the bits do not depend on the thread count.
/// </para>
/// </summary>
internal static unsafe class TreeOrderedGradient
{
    private const int MR = 6;
    private const int NR = 16;

    /// <summary>
    /// weightGradient (inFeatures x outFeatures) and biasGradient (outFeatures), overwritten, from the first
    /// partEnds[^1] rows of <paramref name="input"/> (rows x inFeatures) and <paramref name="outputGradient"/>
    /// (rows x outFeatures). Part p is rows [partEnds[p - 1], partEnds[p]) (part 0 starts at row 0); ends must not
    /// decrease. No parts gives zero gradients.
    /// </summary>
    public static void Compute(float[] input, float[] outputGradient, float[] weightGradient, float[] biasGradient,
        ReadOnlySpan<int> partEnds, int inFeatures, int outFeatures, int maxThreads)
    {
        int parts = partEnds.Length;
        int rows = parts == 0 ? 0 : partEnds[^1];
        if (parts == 0 || rows == 0)
        {
            Array.Clear(weightGradient, 0, inFeatures * outFeatures);
            Array.Clear(biasGradient, 0, outFeatures);
            return;
        }
        int panels = (outFeatures + NR - 1) / NR;
        int tiles = (inFeatures + MR - 1) / MR;
        int depth = 33 - BitOperations.LeadingZeroCount((uint)parts);
        int[] ends = ArrayPool<int>.Shared.Rent(parts);
        float[] packedGradient = ArrayPool<float>.Shared.Rent(panels * rows * NR);
        try
        {
            partEnds.CopyTo(ends);
            fixed (float* dz = outputGradient, packed = packedGradient, db = biasGradient)
            fixed (int* e = ends)
            {
                PackPanels(dz, rows, outFeatures, packed);
                float* stack = stackalloc float[depth * NR];
                for (int jp = 0; jp < panels; jp++)
                    BiasPanel(packed + (long)jp * rows * NR, e, parts, stack, db + jp * NR, Math.Min(NR, outFeatures - jp * NR));
            }

            // Small layers stay on the calling thread: a Parallel.For costs more than they do.
            long flops = 2L * rows * inFeatures * outFeatures;
            int chunks = flops < 2_000_000 ? 1 : Math.Min(maxThreads, tiles);
            if (chunks <= 1)
            {
                WeightTiles(input, packedGradient, weightGradient, ends, parts, depth, rows, inFeatures, outFeatures, 0, tiles);
            }
            else
            {
                int perChunk = (tiles + chunks - 1) / chunks;
                Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, c =>
                    WeightTiles(input, packedGradient, weightGradient, ends, parts, depth, rows, inFeatures, outFeatures,
                        c * perChunk, Math.Min(tiles, (c + 1) * perChunk)));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedGradient);
            ArrayPool<int>.Shared.Return(ends);
        }
    }

    /// <summary>dZ as panels of 16 columns, each rows x 16 contiguous and zero-padded past the last column, so every
    /// tile reads whole vectors whatever outFeatures is.</summary>
    private static void PackPanels(float* dz, int rows, int columns, float* packed)
    {
        for (int jp = 0, j0 = 0; j0 < columns; jp++, j0 += NR)
        {
            int cols = Math.Min(NR, columns - j0);
            float* panel = packed + (long)jp * rows * NR;
            for (int s = 0; s < rows; s++)
            {
                float* src = dz + (long)s * columns + j0;
                float* dst = panel + (long)s * NR;
                if (cols == NR)
                {
                    Vector256.Store(Vector256.Load(src), dst);
                    Vector256.Store(Vector256.Load(src + 8), dst + 8);
                }
                else
                {
                    int j = 0;
                    for (; j < cols; j++) dst[j] = src[j];
                    for (; j < NR; j++) dst[j] = 0f;
                }
            }
        }
    }

    /// <summary>db for one panel: per part the rows added in order, then the tree.</summary>
    private static void BiasPanel(float* panel, int* ends, int parts, float* stack, float* db, int cols)
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
                lo += Vector256.Load(panel + (long)s * NR);
                hi += Vector256.Load(panel + (long)s * NR + 8);
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

    /// <summary>dW rows of tiles [firstTile, endTile): each thread packs its own 6-row slivers of X.</summary>
    private static void WeightTiles(float[] input, float[] packedGradient, float[] weightGradient, int[] ends, int parts, int depth,
        int rows, int inFeatures, int outFeatures, int firstTile, int endTile)
    {
        float[] packedInput = ArrayPool<float>.Shared.Rent(rows * MR);
        try
        {
            fixed (float* x = input, packed = packedGradient, dw = weightGradient, sliver = packedInput)
            fixed (int* e = ends)
            {
                float* stack = stackalloc float[depth * MR * NR];
                int panels = (outFeatures + NR - 1) / NR;
                for (int t = firstTile; t < endTile; t++)
                {
                    int i0 = t * MR, tileRows = Math.Min(MR, inFeatures - i0);
                    PackSliver(x, rows, inFeatures, i0, tileRows, sliver);
                    for (int jp = 0; jp < panels; jp++)
                    {
                        int j0 = jp * NR;
                        Tile(sliver, packed + (long)jp * rows * NR, e, parts, stack, dw + (long)i0 * outFeatures + j0, outFeatures,
                            tileRows, Math.Min(NR, outFeatures - j0));
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedInput);
        }
    }

    /// <summary>X[0..rows, i0..i0+6] as rows groups of 6 values, zero-padded past the last feature.</summary>
    private static void PackSliver(float* x, int rows, int inFeatures, int i0, int tileRows, float* sliver)
    {
        for (int s = 0; s < rows; s++)
        {
            float* src = x + (long)s * inFeatures + i0;
            float* dst = sliver + (long)s * MR;
            int r = 0;
            for (; r < tileRows; r++) dst[r] = src[r];
            for (; r < MR; r++) dst[r] = 0f;
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
