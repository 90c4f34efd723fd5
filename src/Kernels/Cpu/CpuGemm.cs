using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Blocked, vectorized single-precision matrix product C = op(A) op(B), in the BLIS/GotoBLAS shape: B is packed per
/// (KC x NC) block into NR-column panels that stay in L2, each MR-row sliver of A is packed contiguously and stays in
/// L1, and a register micro-kernel streams the sliver against one panel with FMA. With AVX-512 the tile is 8 x 32
/// (16 zmm accumulators: two 512-bit FMA pipes of 4 cycles' latency need 8 independent chains, and 16 leave room for
/// the loads); without it, 6 x 16 (12 ymm accumulators of the 16 AVX2 registers). Row or column blocks of C are
/// spread over the cores (<see cref="KernelWorkers"/>); each core packs its own part. Any strides of A and B are
/// allowed, which is how the transposed forms of the dense backward pass are served without copies.
/// </summary>
/// <remarks>
/// Every element of C is one FMA chain over p = 0 .. k-1 in order, started from zero: between KC blocks the
/// micro-kernel stores its accumulators to C and the next block reloads them, which continues the same chain. So the
/// bits of C do not depend on KC, on the tile shape (AVX-512 and AVX2 agree), on how rows or columns are cut among
/// threads, nor on the number of rows m; only on k and on the values. ThreadCapTests and the reproducible training
/// rely on that.
/// </remarks>
internal static unsafe class CpuGemm
{
    private static readonly bool Wide = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;
    private static readonly int MR = Wide ? 8 : 6;
    private static readonly int NR = Wide ? 32 : 16;
    // k is cut into equal blocks of at most MaxKC: a 784-long product runs as 3 x 262 (not 256 + 256 + 256 + 16,
    // whose last block would reload and store C for 16 steps). A 262-deep 32-wide panel is 33 KB, the A sliver 8 KB:
    // both fit the 48 KB L1 of Zen 5 together.
    private const int MaxKC = 320;
    private const int NC = 512;

    /// <summary>C = op(A) op(B) on at most <paramref name="maxThreads"/> threads. Every element of C gets the same
    /// bits whatever the threads and however the rows or columns are split among them (see the remarks above).</summary>
    public static void Multiply(float[] a, float[] b, float[] c, int m, int k, int n, bool transposeA, bool transposeB, int maxThreads) =>
        Multiply(a, b, c, m, k, n, transposeA, transposeB, maxThreads, workers: null);

    /// <summary><see cref="Multiply(float[], float[], float[], int, int, int, bool, bool, int)"/> whose parallel part
    /// runs on <paramref name="workers"/> (persistent threads, cheaper to wake than a Parallel.For) when they are
    /// free, else on the thread pool.</summary>
    public static void Multiply(float[] a, float[] b, float[] c, int m, int k, int n, bool transposeA, bool transposeB, int maxThreads, KernelWorkers? workers)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            Array.Clear(c, 0, m * n);
            return;
        }
        var shape = new Shape(a, b, c, m, k, n, transposeA, transposeB);

        // Small products stay on the calling thread: waking another costs more than they do.
        long flops = 2L * m * n * k;
        if (flops < 1_000_000 || maxThreads == 1)
        {
            Block(shape, 0, m, 0, n);
            return;
        }
        int threads;
        if (m < n)
        {
            // Few rows (a batch of 128 against a layer 256 wide): split the columns, one chunk per thread, so each
            // thread packs only its own part of B. Split by rows, every thread packed all of B, which for the
            // first layer's 784 x 256 weights cost about a third of the product.
            int panels = (n + NR - 1) / NR;
            threads = Math.Min(maxThreads, panels);
            int chunkColumns = (panels + threads - 1) / threads * NR;
            threads = (n + chunkColumns - 1) / chunkColumns;
            if (threads == 1)
            {
                Block(shape, 0, m, 0, n);
                return;
            }
            Run(workers, maxThreads, threads, t =>
            {
                int j0 = t * chunkColumns;
                Block(shape, 0, m, j0, Math.Min(n, j0 + chunkColumns));
            });
            return;
        }
        // Row chunks, a multiple of MR rows each, one per thread: every chunk packs all of B, so no more chunks than
        // threads.
        int slivers = (m + MR - 1) / MR;
        threads = Math.Min(maxThreads, slivers);
        int chunk = (slivers + threads - 1) / threads * MR;
        threads = (m + chunk - 1) / chunk;
        if (threads == 1)
        {
            Block(shape, 0, m, 0, n);
            return;
        }
        Run(workers, maxThreads, threads, t =>
        {
            int i0 = t * chunk;
            Block(shape, i0, Math.Min(m, i0 + chunk), 0, n);
        });
    }

    private static void Run(KernelWorkers? workers, int maxThreads, int count, Action<int> body)
    {
        if (workers is null || !workers.TryFor(count, body))
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, body);
    }

    /// <summary>The operands and their strides: op(A)[i, p] = a[i rsA + p csA], op(B)[p, j] = b[p rsB + j csB].</summary>
    private readonly struct Shape(float[] a, float[] b, float[] c, int m, int k, int n, bool transposeA, bool transposeB)
    {
        public readonly float[] A = a, B = b, C = c;
        public readonly int M = m, K = k, N = n;
        public readonly int RsA = transposeA ? 1 : k, CsA = transposeA ? m : 1;
        public readonly int RsB = transposeB ? 1 : n, CsB = transposeB ? k : 1;
    }

    /// <summary>C[i0..i1, j0..j1] = op(A) op(B) for those rows and columns.</summary>
    private static void Block(in Shape s, int i0, int i1, int j0, int j1)
    {
        int k = s.K, n = s.N, mr = MR, nr = NR;
        int kBlocks = (k + MaxKC - 1) / MaxKC;
        int kc = (k + kBlocks - 1) / kBlocks;
        float[] packedB = ArrayPool<float>.Shared.Rent(MaxKC * NC);
        float[] packedA = ArrayPool<float>.Shared.Rent(MaxKC * 8);
        try
        {
            fixed (float* pa = s.A, pb = s.B, pc = s.C, ppb = packedB, ppa = packedA)
            {
                for (int jc = j0; jc < j1; jc += NC)
                {
                    int ncb = Math.Min(NC, j1 - jc);
                    int panels = (ncb + nr - 1) / nr;
                    for (int p0 = 0; p0 < k; p0 += kc)
                    {
                        int kcb = Math.Min(kc, k - p0);
                        PackB(pb + (long)p0 * s.RsB + (long)jc * s.CsB, s.RsB, s.CsB, kcb, ncb, ppb);
                        bool accumulate = p0 > 0;
                        for (int i = i0; i < i1; i += mr)
                        {
                            int rows = Math.Min(mr, i1 - i);
                            // A's rows sit k floats apart, often a power of two: reading eight of them at once
                            // thrashes L1 sets, so the MR x kc sliver is packed contiguously first (as BLIS does).
                            PackA(pa + (long)i * s.RsA + (long)p0 * s.CsA, s.RsA, s.CsA, rows, kcb, ppa);
                            float* cRow = pc + (long)i * n + jc;
                            for (int jp = 0; jp < panels; jp++)
                            {
                                int cols = Math.Min(nr, ncb - jp * nr);
                                if (Wide) Micro8x32(ppa, ppb + (long)jp * kcb * nr, kcb, cRow + jp * nr, n, rows, cols, accumulate);
                                else Micro6x16(ppa, ppb + (long)jp * kcb * nr, kcb, cRow + jp * nr, n, rows, cols, accumulate);
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
        int mr = MR;
        if (rsA == 1 && rows == 8 && mr == 8)
        {
            // A stored transposed (the weight gradient's X^T): the sliver's 8 values for one p are adjacent.
            for (int p = 0; p < kc; p++) Vector256.Store(Vector256.Load(a + (long)p * csA), dst + p * 8);
            return;
        }
        if (csA == 1 && rows == 8 && mr == 8 && Avx.IsSupported)
        {
            // A stored as is (every forward product, and dY W^T): 8 x 8 blocks transposed in registers. The scalar
            // loop below scattered one float at a time, and was a fifth of a forward product.
            int p = 0;
            for (; p + 8 <= kc; p += 8) Transpose8x8(a + p, rsA, dst + p * 8);
            for (; p < kc; p++)
                for (int r = 0; r < 8; r++) dst[p * 8 + r] = a[(long)r * rsA + p];
            return;
        }
        for (int r = 0; r < mr; r++)
        {
            float* src = a + (long)r * rsA;
            float* d = dst + r;
            if (r >= rows)
            {
                for (int p = 0; p < kc; p++) d[p * mr] = 0f;
            }
            else if (csA == 1)
            {
                for (int p = 0; p < kc; p++) d[p * mr] = src[p];
            }
            else
            {
                for (int p = 0; p < kc; p++) d[p * mr] = src[(long)p * csA];
            }
        }
    }

    /// <summary>Writes the 8 x 8 block of rows a, a + stride, ... (8 floats each) transposed to 64 contiguous floats:
    /// dst[8 p + r] = a[r stride + p].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* a, int stride, float* dst)
    {
        Vector256<float> r0 = Avx.LoadVector256(a), r1 = Avx.LoadVector256(a + stride),
            r2 = Avx.LoadVector256(a + 2L * stride), r3 = Avx.LoadVector256(a + 3L * stride),
            r4 = Avx.LoadVector256(a + 4L * stride), r5 = Avx.LoadVector256(a + 5L * stride),
            r6 = Avx.LoadVector256(a + 6L * stride), r7 = Avx.LoadVector256(a + 7L * stride);
        // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves: the textbook 8 x 8 transpose.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE),
            u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + 8, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 16, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 24, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 32, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 40, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 48, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 56, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>Packs B[0..kc, 0..nc] as panels of NR columns, panel-major then row-major, zero-padded.</summary>
    private static void PackB(float* b, int rsB, int csB, int kc, int nc, float* dst)
    {
        int nr = NR;
        int panels = (nc + nr - 1) / nr;
        for (int jp = 0; jp < panels; jp++)
        {
            int cols = Math.Min(nr, nc - jp * nr);
            float* panel = dst + (long)jp * kc * nr;
            float* src = b + (long)jp * nr * csB;
            if (csB == 1 && cols == nr)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* from = src + (long)p * rsB, to = panel + p * nr;
                    for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(from + j), to + j);
                }
                continue;
            }
            if (cols < nr)
            {
                for (int p = 0; p < kc; p++)
                    for (int j = cols; j < nr; j++) panel[p * nr + j] = 0f;
            }
            if (rsB == 1)
            {
                // B stored transposed (dY W^T reads W): column j is contiguous in p, so read it in order and
                // scatter into the panel, which sits in L1.
                for (int j = 0; j < cols; j++)
                {
                    float* column = src + (long)j * csB;
                    for (int p = 0; p < kc; p++) panel[p * nr + j] = column[p];
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    float* from = src + (long)p * rsB;
                    for (int j = 0; j < cols; j++) panel[p * nr + j] = from[(long)j * csB];
                }
            }
        }
    }

    /// <summary>C[0..rows, 0..cols] = (accumulate ? C : 0) + packed A sliver (kc x 8) * packed B panel (kc x 32), as
    /// one FMA chain per element continued from C's value.</summary>
    [SkipLocalsInit]
    private static void Micro8x32(float* ap, float* bp, int kc, float* c, int ldc, int rows, int cols, bool accumulate)
    {
        const int Rows = 8, Cols = 32;
        float* edge = stackalloc float[Rows * Cols];
        float* tile = c;
        int ld = ldc;
        if (rows < Rows || cols < Cols)
        {
            // A ragged tile runs on a full-size scratch tile, so the loop below is the same for every tile.
            tile = edge;
            ld = Cols;
            new Span<float>(edge, Rows * Cols).Clear();
            if (accumulate) CopyTile(c, ldc, edge, Cols, rows, cols);
        }
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (accumulate)
        {
            c00 = Vector512.Load(tile); c01 = Vector512.Load(tile + 16);
            c10 = Vector512.Load(tile + ld); c11 = Vector512.Load(tile + ld + 16);
            c20 = Vector512.Load(tile + 2 * ld); c21 = Vector512.Load(tile + 2 * ld + 16);
            c30 = Vector512.Load(tile + 3 * ld); c31 = Vector512.Load(tile + 3 * ld + 16);
            c40 = Vector512.Load(tile + 4 * ld); c41 = Vector512.Load(tile + 4 * ld + 16);
            c50 = Vector512.Load(tile + 5 * ld); c51 = Vector512.Load(tile + 5 * ld + 16);
            c60 = Vector512.Load(tile + 6 * ld); c61 = Vector512.Load(tile + 6 * ld + 16);
            c70 = Vector512.Load(tile + 7 * ld); c71 = Vector512.Load(tile + 7 * ld + 16);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector512<float>.Zero;
            c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = Vector512<float>.Zero;
        }
        for (int p = 0; p < kc; p++, ap += Rows, bp += Cols)
        {
            Vector512<float> b0 = Vector512.Load(bp);
            Vector512<float> b1 = Vector512.Load(bp + 16);
            Vector512<float> x = Vector512.Create(ap[0]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(ap[1]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(ap[2]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(ap[3]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(ap[4]);
            c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(ap[5]);
            c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(ap[6]);
            c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(ap[7]);
            c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
        }
        Vector512.Store(c00, tile); Vector512.Store(c01, tile + 16);
        Vector512.Store(c10, tile + ld); Vector512.Store(c11, tile + ld + 16);
        Vector512.Store(c20, tile + 2 * ld); Vector512.Store(c21, tile + 2 * ld + 16);
        Vector512.Store(c30, tile + 3 * ld); Vector512.Store(c31, tile + 3 * ld + 16);
        Vector512.Store(c40, tile + 4 * ld); Vector512.Store(c41, tile + 4 * ld + 16);
        Vector512.Store(c50, tile + 5 * ld); Vector512.Store(c51, tile + 5 * ld + 16);
        Vector512.Store(c60, tile + 6 * ld); Vector512.Store(c61, tile + 6 * ld + 16);
        Vector512.Store(c70, tile + 7 * ld); Vector512.Store(c71, tile + 7 * ld + 16);
        if (tile == edge) CopyTile(edge, Cols, c, ldc, rows, cols);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fmadd(Vector256<float> x, Vector256<float> y, Vector256<float> acc) =>
        Fma.IsSupported ? Fma.MultiplyAdd(x, y, acc) : acc + x * y;

    /// <summary>The AVX2 tile: C[0..rows, 0..cols] = (accumulate ? C : 0) + packed A sliver (kc x 6) * packed B
    /// panel (kc x 16), the same chain per element as <see cref="Micro8x32"/>.</summary>
    [SkipLocalsInit]
    private static void Micro6x16(float* ap, float* bp, int kc, float* c, int ldc, int rows, int cols, bool accumulate)
    {
        const int Rows = 6, Cols = 16;
        float* edge = stackalloc float[Rows * Cols];
        float* tile = c;
        int ld = ldc;
        if (rows < Rows || cols < Cols)
        {
            tile = edge;
            ld = Cols;
            new Span<float>(edge, Rows * Cols).Clear();
            if (accumulate) CopyTile(c, ldc, edge, Cols, rows, cols);
        }
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Vector256.Load(tile); c01 = Vector256.Load(tile + 8);
            c10 = Vector256.Load(tile + ld); c11 = Vector256.Load(tile + ld + 8);
            c20 = Vector256.Load(tile + 2 * ld); c21 = Vector256.Load(tile + 2 * ld + 8);
            c30 = Vector256.Load(tile + 3 * ld); c31 = Vector256.Load(tile + 3 * ld + 8);
            c40 = Vector256.Load(tile + 4 * ld); c41 = Vector256.Load(tile + 4 * ld + 8);
            c50 = Vector256.Load(tile + 5 * ld); c51 = Vector256.Load(tile + 5 * ld + 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = Vector256<float>.Zero;
            c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }
        for (int p = 0; p < kc; p++, bp += Cols, ap += Rows)
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
        Vector256.Store(c00, tile); Vector256.Store(c01, tile + 8);
        Vector256.Store(c10, tile + ld); Vector256.Store(c11, tile + ld + 8);
        Vector256.Store(c20, tile + 2 * ld); Vector256.Store(c21, tile + 2 * ld + 8);
        Vector256.Store(c30, tile + 3 * ld); Vector256.Store(c31, tile + 3 * ld + 8);
        Vector256.Store(c40, tile + 4 * ld); Vector256.Store(c41, tile + 4 * ld + 8);
        Vector256.Store(c50, tile + 5 * ld); Vector256.Store(c51, tile + 5 * ld + 8);
        if (tile == edge) CopyTile(edge, Cols, c, ldc, rows, cols);
    }

    private static void CopyTile(float* from, int ldFrom, float* to, int ldTo, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(from + (long)r * ldFrom, cols).CopyTo(new Span<float>(to + (long)r * ldTo, cols));
    }
}
