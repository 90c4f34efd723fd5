using AllReduceNet.Kernels;
using BenchmarkDotNet.Attributes;

namespace AllReduceNet.Kernels.Benchmarks;

/// <summary>
/// One SGD step over 4M floats on ILGPU's CPU accelerator (the GPU kernel, grid-stride, emulated threads) beside the
/// CPU path: why the CPU path exists, and a check that the grid-stride launch keeps the emulator usable for tests.
/// </summary>
public class IlgpuCpuBenchmarks
{
    public const int Elements = 4 * 1024 * 1024;

    private IKernelBackend _cpu = null!, _emulated = null!;
    private DeviceBuffer<float> _p = null!, _g = null!, _v = null!, _pe = null!, _ge = null!, _ve = null!;

    [GlobalSetup]
    public void Setup()
    {
        _cpu = KernelBackends.Create("cpu");
        _emulated = KernelBackends.Create("ilgpu-cpu");
        var data = new float[Elements];
        var rng = new Random(4);
        for (int i = 0; i < Elements; i++) data[i] = (float)(rng.NextDouble() - 0.5);
        (_p, _g, _v) = (_cpu.Allocate<float>(Elements), _cpu.Allocate<float>(Elements), _cpu.Allocate<float>(Elements));
        (_pe, _ge, _ve) = (_emulated.Allocate<float>(Elements), _emulated.Allocate<float>(Elements), _emulated.Allocate<float>(Elements));
        _p.CopyFrom(data); _g.CopyFrom(data); _pe.CopyFrom(data); _ge.CopyFrom(data);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cpu.Dispose();
        _emulated.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void SgdCpuPath() => _cpu.SgdStep(_p, _g, _v, new SgdOptions(1e-6f, 0.9f));

    [Benchmark]
    public void SgdIlgpuCpuAccelerator()
    {
        _emulated.SgdStep(_pe, _ge, _ve, new SgdOptions(1e-6f, 0.9f));
        _emulated.Synchronize();
    }
}
