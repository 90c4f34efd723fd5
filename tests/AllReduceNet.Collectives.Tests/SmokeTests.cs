using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

public class SmokeTests
{
    [Theory]
    [InlineData(1, 10, AllReduceAlgorithm.Ring)]
    [InlineData(2, 10, AllReduceAlgorithm.Ring)]
    [InlineData(3, 1000, AllReduceAlgorithm.Ring)]
    [InlineData(5, 3, AllReduceAlgorithm.Ring)]
    [InlineData(5, 1000, AllReduceAlgorithm.Tree)]
    [InlineData(8, 100_001, AllReduceAlgorithm.Ring)]
    public void AllReduceSumsInts(int ranks, int count, AllReduceAlgorithm algorithm)
    {
        var results = InProcessWorld.Run(ranks, comm =>
        {
            var data = Enumerable.Range(0, count).Select(i => i * (comm.Rank + 1)).ToArray();
            comm.AllReduce<int>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = algorithm, SegmentBytes = 4096 });
            return data;
        }, new InProcessWorldOptions { Timeout = TimeSpan.FromSeconds(20) });
        int factor = ranks * (ranks + 1) / 2;
        foreach (var r in results)
            Assert.Equal(Enumerable.Range(0, count).Select(i => i * factor), r);
    }
}
