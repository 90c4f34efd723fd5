using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Suite;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// The hierarchical AllReduce in-process, on simulated nodes (<see cref="InProcessWorldOptions.RanksPerNode"/>): the
/// AllReduce matrix against the sequential reference and bitwise identical on every rank, large messages, Auto's
/// choice, and the refusal of nodes with different numbers of ranks.
/// </summary>
public class HierarchicalAllReduceTests
{
    private static InProcessWorldOptions Nodes(int ranksPerNode) => World.Options with { RanksPerNode = ranksPerNode };

    [Theory]
    [InlineData(4, 2)]   // 2 nodes x 2
    [InlineData(6, 3)]   // 2 nodes x 3
    [InlineData(6, 2)]   // 3 nodes x 2
    [InlineData(8, 2)]   // 4 nodes x 2
    public void MatchesTheReferenceBitwiseIdenticallyOnSimulatedNodes(int ranks, int ranksPerNode)
    {
        var cases = CaseMatrix.AcrossNodes(ranks, SuiteTransport.InProcess)
            .Concat(CaseMatrix.Standard(ranks, SuiteTransport.InProcess).Where(c => c.Algorithm == AllReduceAlgorithm.Hierarchical && c.SegmentBytes is not null))
            .Concat(CaseMatrix.Large(AllReduceAlgorithm.Hierarchical, (1 << 18) + 5))
            .ToList();
        Assert.Contains(cases, c => c.Algorithm == AllReduceAlgorithm.Hierarchical);
        CollectiveSuiteTests.AssertPassed(InProcessWorld.Run(ranks, comm => CaseRunner.RunAll(comm, cases), Nodes(ranksPerNode)));
    }

    [Fact]
    public void TopologyAndAutoChoiceFollowTheNodes()
    {
        var seen = InProcessWorld.Run(6, comm =>
        {
            var t = comm.Topology;
            return (t.Node, t.LocalRank, t.Describe(), t.FavoursHierarchical,
                AllReduceAlgorithms.Choose(1 << 20, comm.Size, direct: true, t.FavoursHierarchical),
                AllReduceAlgorithms.Choose(64, comm.Size, direct: true, t.FavoursHierarchical));
        }, Nodes(3));
        for (int r = 0; r < 6; r++)
        {
            Assert.Equal(r / 3, seen[r].Node);
            Assert.Equal(r % 3, seen[r].LocalRank);
            Assert.Equal("2 nodes x 3 ranks", seen[r].Item3);
            Assert.True(seen[r].FavoursHierarchical);
            Assert.Equal(AllReduceAlgorithm.Hierarchical, seen[r].Item5);
            Assert.Equal(AllReduceAlgorithm.RecursiveDoubling, seen[r].Item6);
        }
        // One rank per node, or one node: nothing to gain, the flat algorithms stay.
        Assert.All(InProcessWorld.Run(3, comm => comm.Topology.FavoursHierarchical, Nodes(1)), Assert.False);
        Assert.All(InProcessWorld.Run(3, comm => comm.Topology.Nodes, World.Options), n => Assert.Equal(1, n));
    }

    [Fact]
    public void NodesOfDifferentSizesAreRefusedNamingTheLayout()
    {
        // 5 ranks, 2 per node: nodes of 2, 2, 1 ranks.
        var errors = InProcessWorld.Run(5, comm =>
        {
            var data = new float[100];
            var error = Assert.Throws<NotSupportedException>(() => comm.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Hierarchical }));
            data.AsSpan().Fill(1);
            comm.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Auto });
            Assert.All(data, v => Assert.Equal(5f, v));
            Assert.False(comm.Topology.FavoursHierarchical);
            return error.Message;
        }, Nodes(2));
        Assert.All(errors, m => Assert.Contains("3 nodes of 2, 2, 1 ranks", m));
    }

    [Fact]
    public void BadRanksPerNodeIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => InProcessWorld.Run(2, _ => { }, Nodes(0)));
}
