using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>Failure must be loud, name the rank and the cause, and end the job quickly: never a hang.</summary>
[Collection(MpiCollection.Name)]
public class MpiFailureTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [MpiFact(MpiJob.Mpich)]
    public void MismatchedCountsEndTheMpichJobWithAMismatchError() => AssertMismatch(MpiJob.Launch(MpiJob.Mpich, 4, "mismatch", Timeout));

    [MpiFact(MpiJob.OpenMpi)]
    public void MismatchedCountsEndTheOpenMpiJobWithAMismatchError() => AssertMismatch(MpiJob.Launch(MpiJob.OpenMpi, 2, "mismatch", Timeout));

    [MpiFact(MpiJob.Mpich)]
    public void AThrowingRankAbortsTheMpichJob() => AssertAborted(MpiJob.Launch(MpiJob.Mpich, 4, "throw", Timeout));

    [MpiFact(MpiJob.OpenMpi)]
    public void AThrowingRankAbortsTheOpenMpiJob() => AssertAborted(MpiJob.Launch(MpiJob.OpenMpi, 2, "throw", Timeout));

    [MpiFact(MpiJob.OpenMpi, MpiJob.Mpich)]
    public void OpenMpiLauncherWithMpichLibraryIsToldApart()
    {
        var result = MpiJob.Launch(MpiJob.OpenMpi, 2, "suite", Timeout, new Dictionary<string, string> { ["ALLREDUCENET_MPI_LIBRARY"] = "libmpich.so.12" });
        AssertFamiliesTold(result, "MPICH");
    }

    [MpiFact(MpiJob.Mpich, MpiJob.OpenMpi)]
    public void MpichLauncherWithOpenMpiLibraryIsToldApart()
    {
        var result = MpiJob.Launch(MpiJob.Mpich, 2, "suite", Timeout, new Dictionary<string, string> { ["ALLREDUCENET_MPI_LIBRARY"] = "libmpi.so.40" });
        AssertFamiliesTold(result, "Open MPI");
    }

    [Fact]
    public void AMissingLibraryGivesAClearErrorInTheApp()
    {
        var result = MpiJob.RunAlone("init", Timeout, new Dictionary<string, string> { ["ALLREDUCENET_MPI_LIBRARY"] = "/nonexistent/libmpi.so" });
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("MpiUnavailableException", result.Output);
        Assert.Contains("/nonexistent/libmpi.so: no such file", result.Output);
        Assert.Contains("sudo apt-get install mpich", result.Output);
    }

    [Fact]
    public void AMissingLibraryIsReportedAndTheInProcessTransportStillWorks()
    {
        var error = Assert.Throws<MpiUnavailableException>(() => MpiLibraryLoader.Load("/nonexistent/libmpi.so"));
        Assert.Contains("/nonexistent/libmpi.so", error.Message);
        Assert.Contains("ALLREDUCENET_MPI_LIBRARY", error.Message);
        Assert.Contains("sudo apt-get install mpich", error.Message);

        var notMpi = Assert.Throws<MpiUnavailableException>(() => MpiLibraryLoader.Load("libc.so.6"));
        Assert.Contains("not an MPI library", notMpi.Message);

        var sums = InProcessWorld.Run(3, comm =>
        {
            int[] data = [comm.Rank + 1];
            comm.AllReduce<int>(data, ReduceOp.Sum);
            return data[0];
        });
        Assert.All(sums, s => Assert.Equal(6, s));
    }

    [Fact]
    public void LibraryVersionsAreShortenedForTransportNames()
    {
        Assert.Equal("MPICH 4.0.2", MpiLibrary.ShortenVersion("MPICH Version:\t4.0.2\nMPICH Release date:\tThu Apr  7 12:34:45 CDT 2022", MpiAbi.Mpich));
        Assert.Equal("Open MPI v4.1.4", MpiLibrary.ShortenVersion("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4", MpiAbi.OpenMpi));
        Assert.Equal("Open MPI", MpiLibrary.ShortenVersion("", MpiAbi.OpenMpi));
    }

    private static void AssertMismatch(MpiJob.Result result)
    {
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("CollectiveMismatchException", result.Output);
        Assert.Matches("rank \\d+: .*(different counts|longer than)", result.Output);
        Assert.Contains("aborting the MPI job", result.Output);
        Assert.DoesNotContain("returned, which it must not", result.Output);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(25), result.ToString());
    }

    private static void AssertFamiliesTold(MpiJob.Result result, string library)
    {
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains($"the launcher started 2 processes but {library}", result.Output);
        Assert.Contains("sees a world of 1", result.Output);
        Assert.DoesNotContain("MPI SUITE", result.Output);
    }

    private static void AssertAborted(MpiJob.Result result)
    {
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("rank 1 of ", result.Output);
        Assert.Contains("InvalidOperationException: rank 1 fails on purpose", result.Output);
        Assert.Contains("aborting the MPI job", result.Output);
        Assert.DoesNotContain("passed the barrier", result.Output);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(25), result.ToString());
    }
}
