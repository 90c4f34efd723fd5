using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

internal static unsafe partial class TreeOrderedGradient
{
    /// <summary>The AVX-512 tile: 8 rows of dW x 32 columns, 16 accumulators of 16 floats, enough independent
    /// fused multiply-add chains to keep both FMA ports busy (the 6 x 16 AVX2 tile leaves half of each vector unused).</summary>
    private const int WideMR = 8;
    private const int WideNR = 32;

    /// <summary>One 8 x 32 tile of dW: per part's leaf the rows' fused multiply-adds in order from 0, then the tree
    /// through the stack, exactly as <see cref="Tile"/> does for 6 x 16.</summary>
    private static void WideTile(float* sliver, float* panel, int* ends, int parts, float* stack, float* dw, int ldw, int tileRows, int tileCols)
    {
        const int TileFloats = WideMR * WideNR;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        int top = 0, start = 0;
        for (int p = 0; p < parts; p++)
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = Vector512<float>.Zero;
            int end = ends[p];
            float* ap = sliver + (long)start * WideMR;
            float* bp = panel + (long)start * WideNR;
            for (int s = start; s < end; s++, ap += WideMR, bp += WideNR)
            {
                Vector512<float> b0 = Vector512.Load(bp);
                Vector512<float> b1 = Vector512.Load(bp + 16);
                Vector512<float> a;
                a = Vector512.Create(ap[0]);
                c00 = Avx512F.FusedMultiplyAdd(a, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a, b1, c01);
                a = Vector512.Create(ap[1]);
                c10 = Avx512F.FusedMultiplyAdd(a, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a, b1, c11);
                a = Vector512.Create(ap[2]);
                c20 = Avx512F.FusedMultiplyAdd(a, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a, b1, c21);
                a = Vector512.Create(ap[3]);
                c30 = Avx512F.FusedMultiplyAdd(a, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a, b1, c31);
                a = Vector512.Create(ap[4]);
                c40 = Avx512F.FusedMultiplyAdd(a, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a, b1, c41);
                a = Vector512.Create(ap[5]);
                c50 = Avx512F.FusedMultiplyAdd(a, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a, b1, c51);
                a = Vector512.Create(ap[6]);
                c60 = Avx512F.FusedMultiplyAdd(a, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a, b1, c61);
                a = Vector512.Create(ap[7]);
                c70 = Avx512F.FusedMultiplyAdd(a, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a, b1, c71);
            }
            start = end;
            int merges = p == parts - 1 ? top : System.Numerics.BitOperations.TrailingZeroCount(p + 1);
            for (int m = 0; m < merges; m++)
            {
                float* t = stack + (long)--top * TileFloats;
                c00 = Vector512.Load(t + 0) + c00; c01 = Vector512.Load(t + 16) + c01;
                c10 = Vector512.Load(t + 32) + c10; c11 = Vector512.Load(t + 48) + c11;
                c20 = Vector512.Load(t + 64) + c20; c21 = Vector512.Load(t + 80) + c21;
                c30 = Vector512.Load(t + 96) + c30; c31 = Vector512.Load(t + 112) + c31;
                c40 = Vector512.Load(t + 128) + c40; c41 = Vector512.Load(t + 144) + c41;
                c50 = Vector512.Load(t + 160) + c50; c51 = Vector512.Load(t + 176) + c51;
                c60 = Vector512.Load(t + 192) + c60; c61 = Vector512.Load(t + 208) + c61;
                c70 = Vector512.Load(t + 224) + c70; c71 = Vector512.Load(t + 240) + c71;
            }
            if (p < parts - 1)
            {
                float* t = stack + (long)top++ * TileFloats;
                Vector512.Store(c00, t + 0); Vector512.Store(c01, t + 16);
                Vector512.Store(c10, t + 32); Vector512.Store(c11, t + 48);
                Vector512.Store(c20, t + 64); Vector512.Store(c21, t + 80);
                Vector512.Store(c30, t + 96); Vector512.Store(c31, t + 112);
                Vector512.Store(c40, t + 128); Vector512.Store(c41, t + 144);
                Vector512.Store(c50, t + 160); Vector512.Store(c51, t + 176);
                Vector512.Store(c60, t + 192); Vector512.Store(c61, t + 208);
                Vector512.Store(c70, t + 224); Vector512.Store(c71, t + 240);
            }
        }

        if (tileRows == WideMR && tileCols == WideNR)
        {
            Vector512.Store(c00, dw); Vector512.Store(c01, dw + 16);
            Vector512.Store(c10, dw + ldw); Vector512.Store(c11, dw + ldw + 16);
            Vector512.Store(c20, dw + 2L * ldw); Vector512.Store(c21, dw + 2L * ldw + 16);
            Vector512.Store(c30, dw + 3L * ldw); Vector512.Store(c31, dw + 3L * ldw + 16);
            Vector512.Store(c40, dw + 4L * ldw); Vector512.Store(c41, dw + 4L * ldw + 16);
            Vector512.Store(c50, dw + 5L * ldw); Vector512.Store(c51, dw + 5L * ldw + 16);
            Vector512.Store(c60, dw + 6L * ldw); Vector512.Store(c61, dw + 6L * ldw + 16);
            Vector512.Store(c70, dw + 7L * ldw); Vector512.Store(c71, dw + 7L * ldw + 16);
            return;
        }
        float* tile = stackalloc float[TileFloats];
        Vector512.Store(c00, tile + 0); Vector512.Store(c01, tile + 16);
        Vector512.Store(c10, tile + 32); Vector512.Store(c11, tile + 48);
        Vector512.Store(c20, tile + 64); Vector512.Store(c21, tile + 80);
        Vector512.Store(c30, tile + 96); Vector512.Store(c31, tile + 112);
        Vector512.Store(c40, tile + 128); Vector512.Store(c41, tile + 144);
        Vector512.Store(c50, tile + 160); Vector512.Store(c51, tile + 176);
        Vector512.Store(c60, tile + 192); Vector512.Store(c61, tile + 208);
        Vector512.Store(c70, tile + 224); Vector512.Store(c71, tile + 240);
        for (int r = 0; r < tileRows; r++)
        {
            for (int j = 0; j < tileCols; j++) dw[(long)r * ldw + j] = tile[r * WideNR + j];
        }
    }
}
