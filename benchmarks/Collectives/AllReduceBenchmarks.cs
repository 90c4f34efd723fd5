using AllReduceNet.Collectives;
using BenchmarkDotNet.Attributes;

namespace AllReduceNet.Collectives.Benchmarks;

/// <summary>
/// AllReduce of float sums on the in-process transport, per algorithm, message size and rank count. Allocation is
/// measured too: the target is 0 B per call in steady state.
/// </summary>
[MemoryDiagnoser]
public class AllReduceBenchmarks
{
    private PeerRanks? _world;
    private float[] _data = [];
    private CollectiveOptions _options = CollectiveOptions.Default;

    [Params(AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.Direct, AllReduceAlgorithm.Auto)]
    public AllReduceAlgorithm Algorithm { get; set; }

    [Params(8, 64 * 1024, 1 << 20, 16 << 20, 256 << 20)]
    public int Bytes { get; set; }

    [Params(2, 4, 8)]
    public int Ranks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _options = new CollectiveOptions { Algorithm = Algorithm };
        _data = new float[Bytes / sizeof(float)];
        var options = _options;
        int count = _data.Length;
        _world = new PeerRanks(Ranks, comm =>
        {
            var mine = PeerBuffers.For(comm.Rank, count);
            comm.AllReduce<float>(mine, ReduceOp.Sum, options);
        });
    }

    [Benchmark]
    public void AllReduce() => _world!.Root.AllReduce<float>(_data, ReduceOp.Sum, _options);

    [GlobalCleanup]
    public void Cleanup()
    {
        _world?.Dispose();
        PeerBuffers.Clear();
    }
}

/// <summary>Each peer rank's buffer, allocated once per setup so the measured calls allocate nothing.</summary>
internal static class PeerBuffers
{
    private static readonly Dictionary<int, float[]> Buffers = new();

    public static float[] For(int rank, int count)
    {
        lock (Buffers)
        {
            if (!Buffers.TryGetValue(rank, out var buffer) || buffer.Length != count)
                Buffers[rank] = buffer = new float[count];
            return buffer;
        }
    }

    public static void Clear()
    {
        lock (Buffers) Buffers.Clear();
    }
}
