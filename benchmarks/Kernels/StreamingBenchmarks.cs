using AllReduceNet.Kernels;
using BenchmarkDotNet.Attributes;

namespace AllReduceNet.Kernels.Benchmarks;

/// <summary>
/// The streaming kernels of the CPU path at 64 MiB per buffer (16M floats), beside memcpy of the same 64 MiB in the
/// same run. Each method's bytes moved (reads + writes) are in <see cref="BytesMoved"/>, so Program turns times into
/// GB/s and ratios to memcpy.
/// </summary>
[MemoryDiagnoser(false)]
public class StreamingBenchmarks
{
    public const int Elements = 64 * 1024 * 1024 / sizeof(float);
    private const long Buffer = (long)Elements * sizeof(float);

    /// <summary>Bytes read plus bytes written per call, by method name.</summary>
    public static readonly Dictionary<string, long> BytesMoved = new()
    {
        [nameof(MemcpySingleThread)] = 2 * Buffer,
        [nameof(MemcpyParallel)] = 2 * Buffer,
        [nameof(Sgd)] = 5 * Buffer,          // p, g, v read; p, v written
        [nameof(Adam)] = 7 * Buffer,         // p, g, m, v read; p, m, v written
        [nameof(Add)] = 3 * Buffer,          // the AllReduce reduction: acc, x read; acc written
        [nameof(QuantizeAndMask2Clients)] = 2 * Buffer, // float read, int written
        [nameof(QuantizeAndMask8Clients)] = 2 * Buffer,
        [nameof(RowNorms)] = Buffer,         // per-example norms of a 256 x 64K matrix: one read
    };

    private IKernelBackend _cpu = null!;
    private float[] _src = null!, _dst = null!;
    private DeviceBuffer<float> _p = null!, _g = null!, _m = null!, _v = null!;
    private DeviceBuffer<int> _q = null!;
    private DeviceBuffer<float> _norms = null!;
    private Seed128[] _seeds2 = null!, _seeds8 = null!;
    private readonly FixedPointFormat _format = FixedPointFormat.ForClients(4f, 8);
    private const int Rows = 256;

    [GlobalSetup]
    public void Setup()
    {
        _cpu = KernelBackends.Create("cpu");
        var rng = new Random(1);
        _src = new float[Elements];
        _dst = new float[Elements];
        for (int i = 0; i < Elements; i++) _src[i] = (float)(rng.NextDouble() - 0.5);
        _p = _cpu.Allocate<float>(Elements); _p.CopyFrom(_src);
        _g = _cpu.Allocate<float>(Elements); _g.CopyFrom(_src);
        _m = _cpu.Allocate<float>(Elements);
        _v = _cpu.Allocate<float>(Elements);
        _q = _cpu.Allocate<int>(Elements);
        _norms = _cpu.Allocate<float>(Rows);
        _seeds2 = [new Seed128(1, 2, 3, 4), new Seed128(1, 2, 3, 4)];
        _seeds8 = Enumerable.Range(0, 8).Select(j => new Seed128((uint)j, 2, 3, 4)).ToArray();
        Array.Copy(_src, _dst, Elements);
    }

    [GlobalCleanup]
    public void Cleanup() => _cpu.Dispose();

    [Benchmark(Baseline = true)]
    public void MemcpySingleThread() => _src.AsSpan().CopyTo(_dst);

    [Benchmark]
    public void MemcpyParallel()
    {
        const int chunk = Elements / 16;
        Parallel.For(0, 16, b => _src.AsSpan(b * chunk, chunk).CopyTo(_dst.AsSpan(b * chunk, chunk)));
    }

    [Benchmark]
    public void Sgd() => _cpu.SgdStep(_p, _g, _v, new SgdOptions(1e-6f, 0.9f, 1e-4f, nesterov: true));

    [Benchmark]
    public void Adam() => _cpu.AdamStep(_p, _g, _m, _v, 10, new AdamOptions(1e-6f, weightDecay: 1e-2f, decoupledWeightDecay: true));

    [Benchmark]
    public void Add() => _cpu.Add(_m, _g);

    [Benchmark]
    public void QuantizeAndMask2Clients() => _cpu.QuantizeAndMask(_g, _q, 0, _seeds2, _format);

    [Benchmark]
    public void QuantizeAndMask8Clients() => _cpu.QuantizeAndMask(_g, _q, 3, _seeds8, _format);

    /// <summary>Per-example L2 norms of a 256 x 64K matrix.</summary>
    [Benchmark]
    public void RowNorms() => _cpu.RowNorms(_p, Rows, Elements / Rows, _norms);
}
