namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// A steady stream of collectives allocates (almost) nothing on the rank threads: requests and scratch are pooled.
/// Without pooling these calls allocate several kilobytes each; the pool's own growth, when timing leaves a few
/// requests still in flight, may add a few hundred bytes over the whole run, which the bound allows.
/// </summary>
public class AllocationTests
{
    [Theory]
    [InlineData(AllReduceAlgorithm.Ring, 2, 16)]
    [InlineData(AllReduceAlgorithm.Ring, 4, 300_000)]
    [InlineData(AllReduceAlgorithm.Tree, 5, 1000)]
    [InlineData(AllReduceAlgorithm.RecursiveDoubling, 3, 100)]
    [InlineData(AllReduceAlgorithm.RecursiveDoubling, 8, 1000)]
    [InlineData(AllReduceAlgorithm.Direct, 2, 300_000)]
    [InlineData(AllReduceAlgorithm.Direct, 8, 300_000)]
    public void SteadyStateAllReduceAllocatesNothing(AllReduceAlgorithm algorithm, int ranks, int count)
    {
        var allocated = World.Run(ranks, comm =>
        {
            var data = new float[count];
            var options = new CollectiveOptions { Algorithm = algorithm, SegmentBytes = 64 * 1024 };
            for (int i = 0; i < 30; i++) comm.AllReduce<float>(data, ReduceOp.Sum, options);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++) comm.AllReduce<float>(data, ReduceOp.Sum, options);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        });
        Assert.All(allocated, bytes => Assert.InRange(bytes, 0, 50 * 64));
    }
}
