namespace AllReduceNet.Collectives.Tests;

/// <summary>Collectives started without waiting, mixed with blocking ones, keep their order on every rank.</summary>
public class NonBlockingTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void StartedCollectivesOverlapAndKeepTheirOrder(int ranks)
    {
        var results = World.Run(ranks, comm =>
        {
            var buckets = Enumerable.Range(0, 6).Select(b => Enumerable.Repeat((float)(comm.Rank + b), 1000 + b).ToArray()).ToArray();
            var handles = buckets.Select(b => comm.StartAllReduce<float>(b, ReduceOp.Sum)).ToList();
            var gathered = new int[comm.Size];
            gathered[comm.Rank] = comm.Rank;
            handles.Add(comm.StartAllGather<int>(gathered));
            var blocking = new[] { 1.0 };
            comm.AllReduce<double>(blocking, ReduceOp.Sum); // waits behind the started ones
            foreach (var h in handles) h.Wait(TimeSpan.FromSeconds(20));
            Assert.All(handles, h => Assert.True(h.IsCompleted));
            Assert.Equal(Enumerable.Range(0, comm.Size), gathered);
            Assert.Equal(comm.Size, blocking[0]);
            return buckets.Select(b => b[^1]).ToArray();
        });
        float baseSum = ranks * (ranks - 1) / 2f;
        foreach (var r in results)
            Assert.Equal(Enumerable.Range(0, 6).Select(b => baseSum + b * ranks), r);
    }

    [Fact]
    public void AFailedStartedCollectiveReportsItsCause()
    {
        var error = Assert.Throws<RankFailedException>(() => World.Run(2, comm =>
        {
            var data = new float[comm.Rank == 0 ? 10 : 11];
            comm.StartAllReduce<float>(data, ReduceOp.Sum).Wait(TimeSpan.FromSeconds(20));
        }));
        Assert.Contains("different counts", error.ToString());
    }
}
