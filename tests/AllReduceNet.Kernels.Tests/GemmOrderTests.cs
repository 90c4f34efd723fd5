using System.Runtime.Intrinsics.X86;
using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// The CPU matrix product's summation contract: every element of C is one FMA chain over p = 0 .. k-1 in order,
/// started from zero, whatever the tile, the k blocking, the thread count, the transposes and the number of rows.
/// Reproducible training and ThreadCapTests build on it.
/// </summary>
public class GemmOrderTests
{
    // Shapes of the MLP (784/256/128/10 at batch 128 and 64), ragged edges in every dimension, k past several k blocks.
    [Theory]
    [InlineData(128, 784, 256, false, false)]
    [InlineData(784, 128, 256, true, false)]
    [InlineData(128, 128, 256, false, true)]
    [InlineData(64, 128, 10, false, false)]
    [InlineData(13, 1000, 45, false, false)]
    [InlineData(37, 333, 71, true, true)]
    [InlineData(9, 7, 33, true, false)]
    [InlineData(250, 641, 17, false, true)]
    public void Each_element_is_one_fma_chain_in_k_order(int m, int k, int n, bool transposeA, bool transposeB)
    {
        var random = new Random(m * 31 + k * 7 + n);
        float[] a = random.RandomFloats(m * k), b = random.RandomFloats(k * n);
        float[] expected = FmaChain(a, b, m, k, n, transposeA, transposeB);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var backend = KernelBackends.Create("cpu", threads);
            using var da = backend.Upload<float>(a);
            using var db = backend.Upload<float>(b);
            using var dc = backend.Upload<float>(random.RandomFloats(m * n));
            backend.MatMul(da, db, dc, m, k, n, transposeA, transposeB);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), dc.ToArray().Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void A_row_gets_the_same_bits_whatever_the_number_of_rows()
    {
        // A pipeline micro-batch or a rank's shard computes some rows of a larger product: they must match it.
        using var backend = KernelBackends.Create("cpu", 2);
        var random = new Random(11);
        int m = 128, k = 784, n = 256;
        float[] a = random.RandomFloats(m * k), b = random.RandomFloats(k * n);
        float[] whole = Product(backend, a, b, m, k, n);
        foreach (int rows in new[] { 1, 5, 64, 100 })
        {
            float[] part = Product(backend, a.AsSpan(0, rows * k).ToArray(), b, rows, k, n);
            Assert.Equal(whole.AsSpan(0, rows * n).ToArray().Select(BitConverter.SingleToInt32Bits), part.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Products_from_many_threads_on_one_backend_are_all_right()
    {
        // The helper threads take one call at a time; concurrent callers (a serving backend) fall back to the pool.
        using var backend = KernelBackends.Create("cpu", 2);
        var random = new Random(12);
        int m = 96, k = 300, n = 200;
        float[] a = random.RandomFloats(m * k), b = random.RandomFloats(k * n);
        float[] expected = Product(backend, a, b, m, k, n);
        var results = new float[8][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            for (int repeat = 0; repeat < 20; repeat++) results[t] = Product(backend, a, b, m, k, n);
        });
        foreach (var result in results)
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), result.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void A_failing_chunk_reaches_the_caller_and_the_workers_stay_usable()
    {
        using var workers = new KernelWorkers(1);
        var error = Assert.Throws<AggregateException>(() => workers.TryFor(4, i =>
        {
            if (i == 2) throw new InvalidOperationException("chunk 2 failed");
        }));
        Assert.Equal("chunk 2 failed", error.InnerException!.Message);
        int sum = 0;
        Assert.True(workers.TryFor(100, i => Interlocked.Add(ref sum, i)));
        Assert.Equal(4950, sum);
    }

    private static float[] Product(IKernelBackend backend, float[] a, float[] b, int m, int k, int n)
    {
        using var da = backend.Upload<float>(a);
        using var db = backend.Upload<float>(b);
        using var dc = backend.Allocate<float>(m * n);
        backend.MatMul(da, db, dc, m, k, n);
        return dc.ToArray();
    }

    private static float[] FmaChain(float[] a, float[] b, int m, int k, int n, bool transposeA, bool transposeB)
    {
        var c = new float[m * n];
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            float sum = 0f;
            for (int p = 0; p < k; p++)
            {
                float x = transposeA ? a[p * m + i] : a[i * k + p], y = transposeB ? b[j * k + p] : b[p * n + j];
                // Without FMA hardware the kernel multiplies, rounds, then adds.
                sum = Fma.IsSupported ? MathF.FusedMultiplyAdd(x, y, sum) : sum + x * y;
            }
            c[i * n + j] = sum;
        }
        return c;
    }
}

/// <summary>The branch-free ReLU backward mask against the scalar rule, bit for bit, on the values that matter.</summary>
public class ReluMaskTests
{
    [Fact]
    public void Keeps_the_gradient_where_the_output_is_positive_and_writes_plus_zero_elsewhere()
    {
        float[] specials = [1f, 0f, -0f, -1f, float.NaN, float.Epsilon, -float.Epsilon, float.PositiveInfinity, float.NegativeInfinity];
        var random = new Random(13);
        foreach (int n in new[] { 1, 7, 8, 15, 16, 17, 33, 100 })
        {
            float[] y = new float[n], g = random.RandomFloats(n);
            for (int i = 0; i < n; i++) y[i] = random.Next(3) == 0 ? specials[random.Next(specials.Length)] : (float)(random.NextDouble() - 0.5);
            g[0] = -0f;   // a kept negative zero stays negative zero
            y[0] = 2f;
            float[] expected = g.Select((value, i) => y[i] > 0f ? value : 0f).ToArray();
            AllReduceNet.Kernels.Cpu.CpuBackend.ReluMask(y, g);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), g.Select(BitConverter.SingleToInt32Bits));
        }
    }
}
