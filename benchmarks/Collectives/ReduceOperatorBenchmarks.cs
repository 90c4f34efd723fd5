using AllReduceNet.Collectives.Operators;
using BenchmarkDotNet.Attributes;

namespace AllReduceNet.Collectives.Benchmarks;

/// <summary>
/// The reduction operators on 1 MiB of float (in cache) and 64 MiB (memory bound), against a plain scalar loop:
/// the hot loop of every reduce step.
/// </summary>
[MemoryDiagnoser]
public class ReduceOperatorBenchmarks
{
    private float[] _x = [], _y = [];

    [Params(1 << 20, 64 << 20)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _x = Enumerable.Range(0, Bytes / 4).Select(i => (float)(i % 100)).ToArray();
        _y = Enumerable.Range(0, Bytes / 4).Select(i => (float)(i % 7)).ToArray();
    }

    [Benchmark(Baseline = true)]
    public void ScalarSum()
    {
        var x = _x; var y = _y;
        for (int i = 0; i < x.Length; i++) x[i] += y[i];
    }

    [Benchmark] public void Sum() => SumOperator<float>.Apply(_x, _y, _x);
    [Benchmark] public void Prod() => ProdOperator<float>.Apply(_x, _y, _x);
    [Benchmark] public void Min() => MinOperator<float>.Apply(_x, _y, _x);
    [Benchmark] public void Max() => MaxOperator<float>.Apply(_x, _y, _x);
}
