using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Tests;

/// <summary>In-process ranks share the cores: each rank's kernels get the cores divided among the ranks, at least one thread.</summary>
public class KernelThreadsTests
{
    [Fact]
    public void RanksShareTheCores()
    {
        int cores = Environment.ProcessorCount;
        Assert.Equal(cores, KernelThreads.PerRank(1));
        Assert.Equal(1, KernelThreads.PerRank(cores));
        Assert.Equal(1, KernelThreads.PerRank(8 * cores));
        Assert.Equal(Math.Max(1, cores / 2), KernelThreads.PerRank(2));
    }
}
