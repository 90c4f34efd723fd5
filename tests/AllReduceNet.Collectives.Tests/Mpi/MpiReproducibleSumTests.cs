using Xunit.Abstractions;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// The reproducible sum on MPI processes (the test app's "reproducible" mode): the same 16 addends spread over 2 or 4
/// processes give bitwise what one rank alone gives, on ring, tree, recursive doubling, MPI_Allreduce and auto, under
/// both MPI libraries.
/// </summary>
[Collection(MpiCollection.Name)]
public class MpiReproducibleSumTests(ITestOutputHelper log)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [MpiFact(MpiJob.Mpich)]
    public void MpichFourRanks() => AssertPassed(MpiJob.Launch(MpiJob.Mpich, 4, "reproducible", Timeout), 4);

    [MpiFact(MpiJob.Mpich)]
    public void MpichTwoRanksWithoutSharedMemory() =>
        AssertPassed(MpiJob.Launch(MpiJob.Mpich, 2, "reproducible", Timeout, MpiSuiteTests.WithoutSharedMemory), 2);

    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiFourRanks() => AssertPassed(MpiJob.Launch(MpiJob.OpenMpi, 4, "reproducible", Timeout), 4);

    private void AssertPassed(MpiJob.Result result, int ranks)
    {
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, $"the job was killed at the timeout: {result}");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"ranks={ranks} ", result.Output);
        Assert.Contains("failures=0", result.Output);
        Assert.Contains("MPI REPRODUCIBLE PASSED", result.Output);
    }
}
