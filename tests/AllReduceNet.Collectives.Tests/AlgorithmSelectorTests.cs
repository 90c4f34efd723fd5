namespace AllReduceNet.Collectives.Tests;

/// <summary>What Auto picks (an internal of the library, checked through <see cref="AlgorithmSelector"/>).</summary>
public class AlgorithmSelectorTests
{
    [Fact]
    public void AutoPicksRecursiveDoublingThenTreeThenRingAsMessagesGrow()
    {
        Assert.Equal(AllReduceAlgorithm.Ring, AlgorithmSelector.Choose(64 << 20, 8, out var why));
        Assert.Contains("threshold", why);
        Assert.Equal(AllReduceAlgorithm.RecursiveDoubling, AlgorithmSelector.Choose(64, 8, out why));
        Assert.Contains("recursive-doubling threshold", why);
        Assert.Equal(AllReduceAlgorithm.Tree, AlgorithmSelector.Choose(32 << 10, 8, out _));
        Assert.Equal(AllReduceAlgorithm.RecursiveDoubling, AlgorithmSelector.Choose(64, 2, out _));
        Assert.Equal(AllReduceAlgorithm.RecursiveDoubling, AlgorithmSelector.Choose(16 << 10, 2, out _));
        Assert.Equal(AllReduceAlgorithm.Ring, AlgorithmSelector.Choose((16 << 10) + 4, 2, out _));
    }

    [Fact]
    public void AutoReadsPeersDirectlyAboveTheTreeOnlyWhereRanksShareAnAddressSpaceAndAreMoreThanTwo()
    {
        Assert.Equal(AllReduceAlgorithm.Direct, AlgorithmSelector.Choose(64 << 20, 8, out var why, sharedAddressSpace: true));
        Assert.Contains("one address space", why);
        Assert.Equal(AllReduceAlgorithm.Tree, AlgorithmSelector.Choose(32 << 10, 8, sharedAddressSpace: true));
        Assert.Equal(AllReduceAlgorithm.Direct, AlgorithmSelector.Choose(AlgorithmSelector.TreeThresholdBytes(3) + 4, 3, sharedAddressSpace: true));
        Assert.Equal(AllReduceAlgorithm.Ring, AlgorithmSelector.Choose(64 << 20, 2, sharedAddressSpace: true));
        Assert.Equal(AllReduceAlgorithm.Ring, AlgorithmSelector.Choose(64 << 20, 8, sharedAddressSpace: false));
    }

    [Fact]
    public void AutoInProcessRunsTheDirectAllReduceForLargeMessagesOfManyRanks()
    {
        // The debug line names the choice; here the result is what counts: Auto over 4 in-process ranks is exact and
        // identical on every rank at a size the direct AllReduce takes.
        int count = (int)(AlgorithmSelector.TreeThresholdBytes(4) / sizeof(float)) * 3 + 5;
        Assert.Equal(AllReduceAlgorithm.Direct, AlgorithmSelector.Choose(count * 4L, 4, sharedAddressSpace: true));
        CollectiveSuiteTests.AssertPassed(World.Run(4, comm => CaseRunner.RunAll(comm,
            [new(Collective.AllReduce, ElementKind.Float, ReduceOp.Sum, count, InPlace: true)])));
    }
}
