using Xunit.Abstractions;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// Every collective, on real MPI processes: the test app compares each result with a sequential reference, with the
/// other ranks (a hash of all results) and with MPI_Allreduce, and prints a summary line from rank 0.
/// </summary>
[Collection(MpiCollection.Name)]
public class MpiSuiteTests(ITestOutputHelper log)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [MpiFact(MpiJob.Mpich)]
    public void MpichTwoRanks() => AssertSuitePassed(MpiJob.Launch(MpiJob.Mpich, 2, "suite --large 1048576", Timeout), 2, "MPICH");

    [MpiFact(MpiJob.Mpich)]
    public void MpichFourRanks() => AssertSuitePassed(MpiJob.Launch(MpiJob.Mpich, 4, "suite --large 262144", Timeout), 4, "MPICH");

    /// <summary>An odd world size, with MPI_THREAD_SERIALIZED: every MPI call then goes through the binding's lock.</summary>
    [MpiFact(MpiJob.Mpich)]
    public void MpichThreeRanksSerialized()
    {
        var result = MpiJob.Launch(MpiJob.Mpich, 3, "suite --large 65536 --thread-level serialized", Timeout);
        AssertSuitePassed(result, 3, "MPICH");
        Assert.Contains("thread-level=Serialized ", result.Output);
    }

    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiTwoRanks() => AssertSuitePassed(MpiJob.Launch(MpiJob.OpenMpi, 2, "suite --large 1048576", Timeout), 2, "Open MPI");

    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiFourRanks() => AssertSuitePassed(MpiJob.Launch(MpiJob.OpenMpi, 4, "suite --large 262144", Timeout), 4, "Open MPI");

    private void AssertSuitePassed(MpiJob.Result result, int ranks, string library)
    {
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("MPI SUITE PASSED", result.Output);
        Assert.Contains($"ranks={ranks} ", result.Output);
        Assert.Contains("failures=0 ", result.Output);
        Assert.Contains($"transport='mpi ({library}", result.Output);
    }
}
