using Xunit.Abstractions;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// The masked AllReduce of AllReduceNet.Privacy on MPI processes (the test app's "masked" mode): exact against the
/// plain quantized sum on ring, tree, recursive doubling, MPI_Allreduce and auto, and the int Sum wraps on each.
/// </summary>
[Collection(MpiCollection.Name)]
public class MpiMaskedAllReduceTests(ITestOutputHelper log)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [MpiFact(MpiJob.Mpich)]
    public void MpichThreeRanks() => AssertPassed(MpiJob.Launch(MpiJob.Mpich, 3, "masked", Timeout), 3);

    [MpiFact(MpiJob.Mpich)]
    public void MpichThreeRanksWithoutSharedMemory() =>
        AssertPassed(MpiJob.Launch(MpiJob.Mpich, 3, "masked", Timeout, MpiSuiteTests.WithoutSharedMemory), 3);

    /// <summary>Open MPI's own MPI_Allreduce (MPI_SUM on MPI_INT) must wrap as well.</summary>
    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiThreeRanks() => AssertPassed(MpiJob.Launch(MpiJob.OpenMpi, 3, "masked", Timeout), 3);

    private void AssertPassed(MpiJob.Result result, int ranks)
    {
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, $"the job was killed at the timeout: {result}");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"MPI MASKED transport=", result.Output);
        Assert.Contains($"ranks={ranks} ", result.Output);
        Assert.Contains("failures=0", result.Output);
        Assert.Contains("MPI MASKED PASSED", result.Output);
    }
}
