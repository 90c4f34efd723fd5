using AllReduceNet.Kernels;
using BenchmarkDotNet.Attributes;

namespace AllReduceNet.Kernels.Benchmarks;

/// <summary>The CPU path's blocked matrix product; Program turns times into GFLOP/s (2 m k n per call).</summary>
public class MatMulBenchmarks
{
    /// <summary>m, k, n of each benchmark, by method name.</summary>
    public static readonly Dictionary<string, (int M, int K, int N)> Shapes = new()
    {
        [nameof(Square1024)] = (1024, 1024, 1024),
        [nameof(MlpLayer)] = (256, 784, 512),
        [nameof(WeightGradient)] = (784, 256, 512),
    };

    private IKernelBackend _cpu = null!;
    private DeviceBuffer<float> _a = null!, _b = null!, _c = null!;

    [GlobalSetup]
    public void Setup()
    {
        _cpu = KernelBackends.Create("cpu");
        var rng = new Random(2);
        float[] data = new float[1024 * 1024];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() - 0.5);
        _a = _cpu.Allocate<float>(data.Length); _a.CopyFrom(data);
        _b = _cpu.Allocate<float>(data.Length); _b.CopyFrom(data);
        _c = _cpu.Allocate<float>(data.Length);
    }

    [GlobalCleanup]
    public void Cleanup() => _cpu.Dispose();

    [Benchmark]
    public void Square1024() => _cpu.MatMul(_a, _b, _c, 1024, 1024, 1024);

    /// <summary>Forward of a 784 -> 512 dense layer on a batch of 256.</summary>
    [Benchmark]
    public void MlpLayer() => _cpu.MatMul(_a, _b, _c, 256, 784, 512);

    /// <summary>Its weight gradient, X^T dY (A transposed).</summary>
    [Benchmark]
    public void WeightGradient() => _cpu.MatMul(_a, _b, _c, 784, 256, 512, transposeA: true);
}
