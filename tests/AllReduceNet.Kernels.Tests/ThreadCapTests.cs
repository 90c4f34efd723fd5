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

    [Fact]
    public void Fewer_than_one_thread_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelBackends.Create("cpu", maxThreads: 0));
}
