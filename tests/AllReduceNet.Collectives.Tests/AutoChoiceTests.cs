using AllReduceNet.Collectives.Algorithms;

namespace AllReduceNet.Collectives.Tests;

/// <summary>What Auto picks (an internal of the library, checked through <see cref="AllReduceAlgorithms"/>).</summary>
public class AutoChoiceTests
{
    [Fact]
    public void AutoPicksRecursiveDoublingThenTreeThenRingAsMessagesGrow()
    {
        Assert.Equal(AllReduceAlgorithm.Ring, AllReduceAlgorithms.Choose(64 << 20, 8));
        Assert.Contains("threshold", AllReduceAlgorithms.Explain(AllReduceAlgorithm.Ring, 64 << 20, 8));
        Assert.Equal(AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithms.Choose(64, 8));
        Assert.Contains("recursive-doubling threshold", AllReduceAlgorithms.Explain(AllReduceAlgorithm.RecursiveDoubling, 64, 8));
        Assert.Equal(AllReduceAlgorithm.Tree, AllReduceAlgorithms.Choose(32 << 10, 8));
        Assert.Equal(AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithms.Choose(64, 2));
        Assert.Equal(AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithms.Choose(16 << 10, 2));
        Assert.Equal(AllReduceAlgorithm.Ring, AllReduceAlgorithms.Choose((16 << 10) + 4, 2));
    }

    [Fact]
    public void AutoReadsPeersDirectlyAboveTheTreeOnlyWhereRanksShareAnAddressSpaceAndAreMoreThanTwo()
    {
        Assert.Equal(AllReduceAlgorithm.Direct, AllReduceAlgorithms.Choose(64 << 20, 8, direct: true));
        Assert.Contains("one address space", AllReduceAlgorithms.Explain(AllReduceAlgorithm.Direct, 64 << 20, 8));
        Assert.Equal(AllReduceAlgorithm.Tree, AllReduceAlgorithms.Choose(32 << 10, 8, direct: true));
        Assert.Equal(AllReduceAlgorithm.Direct, AllReduceAlgorithms.Choose(AllReduceAlgorithms.TreeThresholdBytes(3) + 4, 3, direct: true));
        Assert.Equal(AllReduceAlgorithm.Ring, AllReduceAlgorithms.Choose(64 << 20, 2, direct: true));
        Assert.Equal(AllReduceAlgorithm.Ring, AllReduceAlgorithms.Choose(64 << 20, 8, direct: false));
    }

    [Fact]
    public void AutoInProcessRunsTheDirectAllReduceForLargeMessagesOfManyRanks()
    {
        // The debug line names the choice; here the result is what counts: Auto over 4 in-process ranks is exact and
        // identical on every rank at a size the direct AllReduce takes.
        int count = (int)(AllReduceAlgorithms.TreeThresholdBytes(4) / sizeof(float)) * 3 + 5;
        Assert.Equal(AllReduceAlgorithm.Direct, AllReduceAlgorithms.Choose(count * 4L, 4, direct: true));
        CollectiveSuiteTests.AssertPassed(World.Run(4, comm => CaseRunner.RunAll(comm,
            [new(Collective.AllReduce, ElementKind.Float, ReduceOp.Sum, count, InPlace: true)])));
    }
}
