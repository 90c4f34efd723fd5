using AllReduceNet.Kernels;
using BenchmarkDotNet.Attributes;

namespace AllReduceNet.Kernels.Benchmarks;

/// <summary>
/// Per-example clipping where every row is clipped (norm ~74 against C = 0.5), so each call reads and rewrites all
/// 64 MiB. Clipping is idempotent, so every iteration first restores the data (outside the measured time); that makes
/// each iteration a single call, hence more iterations than the streaming class.
/// </summary>
public class ClipBenchmarks
{
    public const int Rows = 256;
    private const int Elements = StreamingBenchmarks.Elements;

    /// <summary>Bytes moved per call: the norm reads the row, the scaling reads and writes it.</summary>
    public const long BytesMoved = 3L * Elements * sizeof(float);

    private IKernelBackend _cpu = null!;
    private float[] _original = null!;
    private DeviceBuffer<float> _rows = null!, _norms = null!;

    [GlobalSetup]
    public void Setup()
    {
        _cpu = KernelBackends.Create("cpu");
        var rng = new Random(3);
        _original = new float[Elements];
        for (int i = 0; i < Elements; i++) _original[i] = (float)(rng.NextDouble() - 0.5);
        _rows = _cpu.Allocate<float>(Elements);
        _norms = _cpu.Allocate<float>(Rows);
    }

    [IterationSetup]
    public void Restore() => _rows.CopyFrom(_original);

    [GlobalCleanup]
    public void Cleanup() => _cpu.Dispose();

    [Benchmark]
    public void ClipRows() => _cpu.ClipRows(_rows, Rows, Elements / Rows, 0.5f, _norms);
}
