using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Blocked, vectorized single-precision matrix product C = op(A) op(B), in the BLIS/GotoBLAS shape: B is packed per
/// (KC x NC) block into 16-column panels that stay in L1/L2, and a 6 x 16 register micro-kernel (12 AVX accumulators,
/// FMA) streams a packed 6-row sliver of A against one panel. Row blocks of C are spread over the cores; each core packs its own B block,
/// which costs O(k n) against the O(m k n / cores) of its share. Any strides of A and B are allowed, which is how the
/// transposed forms of the dense backward pass are served without copies.
/// </summary>
internal static unsafe class CpuGemm
{
    private const int MR = 6;
    private const int NR = 16;
    private const int KC = 256;
    private const int NC = 512;

    /// <summary>C = op(A) op(B) on at most <paramref name="maxThreads"/> threads. Every element of C gets the same
    /// bits whatever the threads and however the rows or columns are split among them (<see cref="Block"/>).</summary>
    public static void Multiply(float[] a, float[] b, float[] c, int m, int k, int n, bool transposeA, bool transposeB, int maxThreads)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            Array.Clear(c, 0, m * n);
            return;
        }
        int rsA = transposeA ? 1 : k, csA = transposeA ? m : 1;
        int rsB = transposeB ? 1 : n, csB = transposeB ? k : 1;

        // Small products stay on the calling thread: a Parallel.For costs more than they do.
        long flops = 2L * m * n * k;
        if (flops < 2_000_000 || maxThreads == 1)
        {
            Block(a, b, c, 0, m, 0, n, k, n, rsA, csA, rsB, csB);
            return;
        }
        if (m < n)
        {
            // Few rows (a batch of 128 against a layer 256 wide): split the columns, one chunk per thread, so each
            // thread packs only its own part of B. Split by rows, every thread packed all of B, which for the
            // first layer's 784 x 256 weights cost about a third of the product.
            int panels = (n + NR - 1) / NR;
            int columnChunks = Math.Min(maxThreads, panels);
            int chunkColumns = (panels + columnChunks - 1) / columnChunks * NR;
            columnChunks = (n + chunkColumns - 1) / chunkColumns;
            Parallel.For(0, columnChunks, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, t =>
            {
                int j0 = t * chunkColumns;
                Block(a, b, c, 0, m, j0, Math.Min(n, j0 + chunkColumns), k, n, rsA, csA, rsB, csB);
            });
            return;
        }
        // Row chunks: a multiple of MR rows each, about two per core so a slow core does not hold everyone up.
        int workers = Math.Max(1, Math.Min(maxThreads * 2, (m + MR - 1) / MR));
        int chunk = ((m + workers - 1) / workers + MR - 1) / MR * MR;
        int chunks = (m + chunk - 1) / chunk;
        if (chunks == 1)
        {
            Block(a, b, c, 0, m, 0, n, k, n, rsA, csA, rsB, csB);
        }
        else
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, t =>
            {
                int i0 = t * chunk;
                Block(a, b, c, i0, Math.Min(m, i0 + chunk), 0, n, k, n, rsA, csA, rsB, csB);
            });
        }
    }

    /// <summary>C[i0..i1, j0..j1] = op(A) op(B) for those rows and columns. Each element of C is the same sum in the
    /// same order (k in blocks of KC, each block in order) wherever the block boundaries fall, so how the work is
    /// split never changes a bit.</summary>
    private static void Block(float[] a, float[] b, float[] c, int i0, int i1, int j0, int j1, int k, int n, int rsA, int csA, int rsB, int csB)
    {
        float[] packedB = ArrayPool<float>.Shared.Rent(KC * NC);
        float[] packedA = ArrayPool<float>.Shared.Rent(KC * MR);
        try
        {
            fixed (float* pa = a, pb = b, pc = c, ppb = packedB, ppa = packedA)
            {
                for (int jc = j0; jc < j1; jc += NC)
                {
                    int ncb = Math.Min(NC, j1 - jc);
                    int panels = (ncb + NR - 1) / NR;
                    for (int pcIdx = 0; pcIdx < k; pcIdx += KC)
                    {
                        int kcb = Math.Min(KC, k - pcIdx);
                        PackB(pb, rsB, csB, pcIdx, kcb, jc, ncb, ppb);
                        bool accumulate = pcIdx > 0;
                        for (int i = i0; i < i1; i += MR)
                        {
                            int rows = Math.Min(MR, i1 - i);
                            // A's rows sit k floats apart, often a power of two: reading six of them at once thrashes
                            // L1 sets, so the 6 x kc sliver is packed contiguously first (BLIS packs A for this reason).
                            PackA(pa + (long)i * rsA + (long)pcIdx * csA, rsA, csA, rows, kcb, ppa);
                            for (int jp = 0; jp < panels; jp++)
                            {
                                int cols = Math.Min(NR, ncb - jp * NR);
                                Micro(ppa, ppb + (long)jp * kcb * NR, kcb, pc + (long)i * n + jc + jp * NR, n, rows, cols, accumulate);
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedA);
            ArrayPool<float>.Shared.Return(packedB);
        }
    }

    /// <summary>Packs A[0..rows, 0..kc] (rows &lt;= MR) as kc groups of MR values, zero-padded past the last row.</summary>
    private static void PackA(float* a, int rsA, int csA, int rows, int kc, float* dst)
    {
        for (int r = 0; r < MR; r++)
        {
            float* src = a + (long)r * rsA;
            float* d = dst + r;
            if (r >= rows)
            {
                for (int p = 0; p < kc; p++) d[p * MR] = 0f;
            }
            else if (csA == 1)
            {
                for (int p = 0; p < kc; p++) d[p * MR] = src[p];
            }
            else
            {
                for (int p = 0; p < kc; p++) d[p * MR] = src[(long)p * csA];
            }
        }
    }

    /// <summary>Packs B[p0 .. p0+kc, j0 .. j0+nc] as panels of NR columns, panel-major then row-major, zero-padded.</summary>
    private static void PackB(float* b, int rsB, int csB, int p0, int kc, int j0, int nc, float* dst)
    {
        int panels = (nc + NR - 1) / NR;
        for (int jp = 0; jp < panels; jp++)
        {
            int cols = Math.Min(NR, nc - jp * NR);
            float* panel = dst + (long)jp * kc * NR;
            for (int p = 0; p < kc; p++)
            {
                float* src = b + (long)(p0 + p) * rsB + (long)(j0 + jp * NR) * csB;
                float* row = panel + p * NR;
                if (csB == 1 && cols == NR)
                {
                    Vector256.Store(Vector256.Load(src), row);
                    Vector256.Store(Vector256.Load(src + 8), row + 8);
                }
                else
                {
                    int j = 0;
                    for (; j < cols; j++) row[j] = src[(long)j * csB];
                    for (; j < NR; j++) row[j] = 0f;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fmadd(Vector256<float> x, Vector256<float> y, Vector256<float> acc) =>
        Fma.IsSupported ? Fma.MultiplyAdd(x, y, acc) : acc + x * y;

    /// <summary>C[0..rows, 0..cols] (+)= packed A sliver (kc x MR) * packed B panel (kc x NR).</summary>
    private static void Micro(float* ap, float* panel, int kc, float* c, int ldc, int rows, int cols, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* bp = panel;
        for (int p = 0; p < kc; p++, bp += NR, ap += MR)
        {
            Vector256<float> b0 = Vector256.Load(bp);
            Vector256<float> b1 = Vector256.Load(bp + 8);
            Vector256<float> x = Vector256.Create(ap[0]);
            c00 = Fmadd(x, b0, c00); c01 = Fmadd(x, b1, c01);
            x = Vector256.Create(ap[1]);
            c10 = Fmadd(x, b0, c10); c11 = Fmadd(x, b1, c11);
            x = Vector256.Create(ap[2]);
            c20 = Fmadd(x, b0, c20); c21 = Fmadd(x, b1, c21);
            x = Vector256.Create(ap[3]);
            c30 = Fmadd(x, b0, c30); c31 = Fmadd(x, b1, c31);
            x = Vector256.Create(ap[4]);
            c40 = Fmadd(x, b0, c40); c41 = Fmadd(x, b1, c41);
            x = Vector256.Create(ap[5]);
            c50 = Fmadd(x, b0, c50); c51 = Fmadd(x, b1, c51);
        }

        if (rows == MR && cols == NR)
        {
            Store(c, c00, c01, accumulate);
            Store(c + ldc, c10, c11, accumulate);
            Store(c + 2L * ldc, c20, c21, accumulate);
            Store(c + 3L * ldc, c30, c31, accumulate);
            Store(c + 4L * ldc, c40, c41, accumulate);
            Store(c + 5L * ldc, c50, c51, accumulate);
            return;
        }
        float* t = stackalloc float[MR * NR];
        Vector256.Store(c00, t); Vector256.Store(c01, t + 8);
        Vector256.Store(c10, t + 16); Vector256.Store(c11, t + 24);
        Vector256.Store(c20, t + 32); Vector256.Store(c21, t + 40);
        Vector256.Store(c30, t + 48); Vector256.Store(c31, t + 56);
        Vector256.Store(c40, t + 64); Vector256.Store(c41, t + 72);
        Vector256.Store(c50, t + 80); Vector256.Store(c51, t + 88);
        for (int r = 0; r < rows; r++)
        {
            float* dst = c + (long)r * ldc;
            for (int j = 0; j < cols; j++) dst[j] = accumulate ? dst[j] + t[r * NR + j] : t[r * NR + j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> lo, Vector256<float> hi, bool accumulate)
    {
        if (accumulate)
        {
            lo += Vector256.Load(c);
            hi += Vector256.Load(c + 8);
        }
        Vector256.Store(lo, c);
        Vector256.Store(hi, c + 8);
    }
}
