namespace AllReduceNet.Collectives.Tests;

/// <summary>What a barrier promises, seen from threads that share memory: nobody leaves before everyone arrived.</summary>
public class BarrierTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(16)]
    public void NoRankLeavesTheBarrierBeforeAllArrived(int ranks)
    {
        int arrived = 0;
        var seen = World.Run(ranks, comm =>
        {
            var observed = new List<int>();
            for (int round = 1; round <= 5; round++)
            {
                Thread.Sleep(comm.Rank % 3); // uneven arrival
                Interlocked.Increment(ref arrived);
                comm.Barrier();
                observed.Add(Volatile.Read(ref arrived));
                comm.Barrier(); // nobody starts the next round before everyone has looked
            }
            return observed;
        });
        for (int r = 0; r < ranks; r++)
            for (int round = 1; round <= 5; round++)
                Assert.Equal(round * ranks, seen[r][round - 1]);
    }
}
