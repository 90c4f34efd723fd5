namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// Every collective, on real MPI processes: the test app compares each result with a sequential reference, with the
/// other ranks (a hash of all results) and with MPI_Allreduce, and prints a summary line from rank 0.
/// </summary>
[Collection(MpiCollection.Name)]
public class MpiSuiteTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [MpiFact(MpiJob.Mpich)]
    public void MpichTwoRanks() => AssertSuitePassed(MpiJob.Launch(MpiJob.Mpich, 2, "suite --large 1048576", Timeout), 2, "MPICH");

    [MpiFact(MpiJob.Mpich)]
    public void MpichFourRanks() => AssertSuitePassed(MpiJob.Launch(MpiJob.Mpich, 4, "suite --large 262144", Timeout), 4, "MPICH");

    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiTwoRanks() => AssertSuitePassed(MpiJob.Launch(MpiJob.OpenMpi, 2, "suite --large 1048576", Timeout), 2, "Open MPI");

    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiFourRanks() => AssertSuitePassed(MpiJob.Launch(MpiJob.OpenMpi, 4, "suite --large 262144", Timeout), 4, "Open MPI");

    private static void AssertSuitePassed(MpiJob.Result result, int ranks, string library)
    {
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("MPI SUITE PASSED", result.Output);
        Assert.Contains($"ranks={ranks} ", result.Output);
        Assert.Contains("failures=0 ", result.Output);
        Assert.Contains($"transport='mpi ({library}", result.Output);
    }
}
