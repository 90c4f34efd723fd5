using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

/// <summary>The CPU backend capped at one thread computes bitwise what it computes on every core.</summary>
public class ThreadCapTests
{
    [Fact]
    public void One_thread_gives_the_same_bits_as_all_cores()
    {
        using var single = KernelBackends.Create("cpu", maxThreads: 1);
        using var all = KernelBackends.Create("cpu", maxThreads: Math.Max(2, Environment.ProcessorCount));
        var random = new Random(5);
        // Sizes past the matmul's parallel threshold and past several SGD blocks, with ragged edges.
        int m = 131, k = 257, n = 67, count = 5 * 8192 + 13;
        float[] a = random.RandomFloats(m * k), b = random.RandomFloats(k * n);
        float[] p = random.RandomFloats(count), g = random.RandomFloats(count), v = random.RandomFloats(count);
        float[] Run(IKernelBackend backend)
        {
            using var da = backend.Upload<float>(a);
            using var db = backend.Upload<float>(b);
            using var dc = backend.Allocate<float>(m * n);
            using var dp = backend.Upload<float>(p);
            using var dg = backend.Upload<float>(g);
            using var dv = backend.Upload<float>(v);
            backend.MatMul(da, db, dc, m, k, n);
            backend.SgdStep(dp, dg, dv, new SgdOptions(0.1f, 0.9f, 1e-4f));
            return [.. dc.ToArray(), .. dp.ToArray(), .. dv.ToArray()];
        }
        float[] expected = Run(all), actual = Run(single);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
    }

    // Fewer rows than columns: the product is split by columns among the threads (each packs its own part of B);
    // 3 threads cut the panels unevenly, k past one KC block accumulates, n past one NC block takes two passes.
    [Theory]
    [InlineData(128, 784, 256, false, false, 2)]
    [InlineData(128, 128, 256, false, true, 2)]
    [InlineData(37, 300, 531, true, false, 3)]
    [InlineData(5, 1000, 1043, true, true, 3)]
    public void A_column_split_product_gives_the_same_bits_as_one_thread(int m, int k, int n, bool transposeA, bool transposeB, int threads)
    {
        using var single = KernelBackends.Create("cpu", maxThreads: 1);
        using var several = KernelBackends.Create("cpu", maxThreads: threads);
        var random = new Random(m + k + n);
        float[] a = random.RandomFloats(m * k), b = random.RandomFloats(k * n);
        float[] Run(IKernelBackend backend)
        {
            using var da = backend.Upload<float>(a);
            using var db = backend.Upload<float>(b);
            using var dc = backend.Upload<float>(random.RandomFloats(m * n));   // overwritten, whatever it held
            backend.MatMul(da, db, dc, m, k, n, transposeA, transposeB);
            return dc.ToArray();
        }
        float[] expected = Run(single), actual = Run(several);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        Assert2.Close(Reference.MatMul(a, b, m, k, n, transposeA, transposeB), actual, 1e-5, 1e-5 * Math.Sqrt(k + 1), $"{m}x{k}x{n}");
    }

    [Fact]
    public void Fewer_than_one_thread_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelBackends.Create("cpu", maxThreads: 0));
}
