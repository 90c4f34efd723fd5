namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// The direct AllReduce on split communicators at the same time (each group has its own board) and started without
/// waiting, mixed with a blocking call: every result exact and identical within its group.
/// </summary>
public class DirectAllReduceOnSplitGroupsTests
{
    [Fact]
    public void DirectRunsOnSplitGroupsAtOnceAndStartedWithoutWaiting()
    {
        const int count = 70_001;
        var direct = new CollectiveOptions { Algorithm = AllReduceAlgorithm.Direct };
        var results = World.Run(6, comm =>
        {
            using var group = comm.Split(comm.Rank % 2, comm.Rank)!;   // ranks 0,2,4 and 1,3,5
            // A seed per group: a message that crossed into the other group would carry the other group's data.
            var inGroup = CaseRunner.Run(group, new(Collective.AllReduce, ElementKind.Double, ReduceOp.Sum, count, InPlace: true, AllReduceAlgorithm.Direct, Seed: 1 + comm.Rank % 2));
            var started = TestValues.Input<double>(comm.Rank, count, ReduceOp.Sum, seed: 0);
            var handle = comm.StartAllReduce<double>(started, ReduceOp.Sum, direct);
            var blocking = TestValues.Input<double>(comm.Rank, 1000, ReduceOp.Max, seed: 0);
            comm.AllReduce<double>(blocking, ReduceOp.Max, direct);   // waits behind the started one
            handle.Wait(TimeSpan.FromSeconds(20));
            return (started, failures: new List<string?>
            {
                inGroup,
                TestValues.CheckReduced<double>(started, TestValues.Ranks(6), ReduceOp.Sum, seed: 0) is { } s ? $"rank {comm.Rank}: started: {s}" : null,
                TestValues.CheckReduced<double>(blocking, TestValues.Ranks(6), ReduceOp.Max, seed: 0) is { } b ? $"rank {comm.Rank}: blocking behind started: {b}" : null,
            }.OfType<string>().ToList());
        });
        CollectiveSuiteTests.AssertPassed(results.Select(r => r.failures).ToArray());
        Assert.All(results, r => Assert.Equal(results[0].started, r.started)); // identical on every rank: the sums of random fractions depend on their order
    }
}
