using System.Diagnostics;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// What a failed collective leaves behind, with every rank catching its exception (so no world abort is what releases
/// them): the first rank to time out releases the others, and the communicator refuses the next collective.
/// (<see cref="MismatchReleaseTests"/> has the matrix of algorithm x mismatch kind.)
/// </summary>
public class FailureReleaseTests
{
    /// <summary>Where nothing but the timeout can end a wait (a rank never calls), the first rank to time out releases the others at once.</summary>
    [Fact]
    public void TheFirstTimeoutReleasesEveryWaitingRank()
    {
        var outcomes = InProcessWorld.Run(4, comm =>
        {
            if (comm.Rank == 3) { Thread.Sleep(3000); return (Error: (Exception?)null, Elapsed: TimeSpan.Zero); }
            var watch = Stopwatch.StartNew();
            // Rank 0 has a short timeout; ranks 1 and 2 a long one, so they can only be released by rank 0's notice.
            var options = new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, Timeout = TimeSpan.FromSeconds(comm.Rank == 0 ? 0.5 : 30) };
            try { comm.AllReduce<float>(new float[1000], ReduceOp.Sum, options); return (null, watch.Elapsed); }
            catch (CollectiveException error) { return (error, watch.Elapsed); }
        }, new InProcessWorldOptions { Timeout = TimeSpan.FromSeconds(30) });
        Assert.IsType<CommunicationTimeoutException>(outcomes[0].Error);
        for (int r = 1; r < 3; r++)
        {
            var aborted = Assert.IsType<CommunicatorAbortedException>(outcomes[r].Error);
            Assert.Equal(0, aborted.FailedRank);
            Assert.True(outcomes[r].Elapsed < TimeSpan.FromSeconds(2.5), $"rank {r} was released after {outcomes[r].Elapsed}");
        }
    }

    /// <summary>After a failed collective the communicator refuses the next one at once, saying why, instead of mixing its messages with the failed call's.</summary>
    [Fact]
    public void AFailedCollectiveLeavesTheCommunicatorRefusingCollectives()
    {
        var messages = InProcessWorld.Run(3, comm =>
        {
            try { comm.AllReduce<float>(new float[comm.Rank == 2 ? 11 : 10], ReduceOp.Sum); }
            catch (CollectiveException) { }
            var next = Assert.ThrowsAny<CollectiveException>(() => comm.AllReduce<float>(new float[10], ReduceOp.Sum));
            return next.Message;
        }, new InProcessWorldOptions { Timeout = TimeSpan.FromSeconds(30) });
        foreach (var message in messages) Assert.Contains("refused", message);
    }
}
