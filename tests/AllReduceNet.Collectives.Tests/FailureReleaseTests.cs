using System.Diagnostics;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// A mismatch seen by any rank fails the collective on every rank of the group within a second, whatever the
/// algorithm, even when every rank catches its exception (so no world abort is what releases them): the failing rank
/// tells its peers. The timeout is 30 s, so a rank released by its timeout fails the test.
/// </summary>
public class FailureReleaseTests
{
    public static TheoryData<AllReduceAlgorithm, int, string> Cases()
    {
        var data = new TheoryData<AllReduceAlgorithm, int, string>();
        foreach (var algorithm in new[] { AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.Direct, AllReduceAlgorithm.Auto })
            foreach (int ranks in new[] { 2, 3, 5 })
                foreach (var kind in new[] { "operator", "count", "type", "collective" })
                    data.Add(algorithm, ranks, kind);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryRankIsReleasedWithinASecond(AllReduceAlgorithm algorithm, int ranks, string kind)
    {
        const int count = 300_000; // Auto picks Direct here for more than 2 ranks in-process
        var options = new CollectiveOptions { Algorithm = algorithm };
        var outcomes = InProcessWorld.Run(ranks, comm =>
        {
            bool odd = comm.Rank == 1;
            var watch = Stopwatch.StartNew();
            try
            {
                switch (kind)
                {
                    case "operator": comm.AllReduce<float>(new float[count], odd ? ReduceOp.Max : ReduceOp.Sum, options); break;
                    case "count": comm.AllReduce<float>(new float[odd ? count + 1 : count], ReduceOp.Sum, options); break;
                    case "type" when odd: comm.AllReduce<int>(new int[count], ReduceOp.Sum, options); break;
                    case "type": comm.AllReduce<float>(new float[count], ReduceOp.Sum, options); break;
                    // Two collectives whose messages never cross (rank 1 waits for a broadcast while its tree parent
                    // waits for rank 1's partial sum) give no rank a message to see the mismatch in, on any library:
                    // the argument check (ALLREDUCENET_VALIDATE=1) is what catches those, up front.
                    case "collective" when odd: comm.Broadcast<float>(new float[count], root: 0, options with { Validate = true }); break;
                    case "collective": comm.AllReduce<float>(new float[count], ReduceOp.Sum, options with { Validate = true }); break;
                }
                return (Error: (Exception?)null, watch.Elapsed);
            }
            catch (CollectiveException error)
            {
                return (Error: error, watch.Elapsed);
            }
        }, new InProcessWorldOptions { Timeout = TimeSpan.FromSeconds(30) });

        for (int r = 0; r < ranks; r++)
        {
            Assert.True(outcomes[r].Error is not null, $"rank {r} returned normally from a mismatched collective");
            Assert.IsNotType<CommunicationTimeoutException>(outcomes[r].Error);
            // A second is the bound; the machine is noisy, so allow twice that before calling it a failure.
            Assert.True(outcomes[r].Elapsed < TimeSpan.FromSeconds(2), $"rank {r} was released after {outcomes[r].Elapsed}: {outcomes[r].Error}");
        }
    }

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
