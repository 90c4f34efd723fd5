using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// The socket channel (Transports/Mpi/SocketChannel.cs), which carries the collectives' messages between nodes, on one
/// host: ALLREDUCENET_MPI_SOCKETS=all puts it between every pair of ranks, so these jobs take the path multi-node
/// jobs take without the namespace cluster (no root needed). ClusterTests run it across the two namespace hosts.
/// </summary>
[Collection(MpiCollection.Name)]
public class MpiSocketChannelTests(ITestOutputHelper log)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static Dictionary<string, string> Sockets(params (string Key, string Value)[] more)
    {
        var environment = new Dictionary<string, string> { ["ALLREDUCENET_MPI_SOCKETS"] = "all" };
        foreach (var (key, value) in more) environment[key] = value;
        return environment;
    }

    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiTwoRanksPassTheSuiteOverSockets() =>
        AssertPassed(MpiJob.Launch(MpiJob.OpenMpi, 2, "suite --large 1048576", Timeout, Sockets()), "MPI SUITE PASSED", 2, "Open MPI");

    /// <summary>An odd world size: every rank has two peers, each with a connection each way.</summary>
    [MpiFact(MpiJob.Mpich)]
    public void MpichThreeRanksPassTheSuiteOverSockets() =>
        AssertPassed(MpiJob.Launch(MpiJob.Mpich, 3, "suite --large 262144", Timeout, Sockets()), "MPI SUITE PASSED", 3, "MPICH");

    /// <summary>Split communicators each set up their own connections (and one-rank splits none).</summary>
    [MpiFact(MpiJob.Mpich)]
    public void MpichFourRanksPassTheSplitsOverSockets() =>
        AssertPassed(MpiJob.Launch(MpiJob.Mpich, 4, "splits", Timeout, Sockets()), "MPI SPLITS PASSED", 4, "MPICH");

    /// <summary>A message longer than the receive: drained from the stream and reported as a mismatch naming the sender.</summary>
    [MpiFact(MpiJob.OpenMpi)]
    public void MismatchedCountsOverSocketsEndTheJobWithAMismatchError()
    {
        var result = MpiJob.Launch(MpiJob.OpenMpi, 2, "mismatch Count Ring 1001 0", Timeout, Sockets());
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("CollectiveMismatchException", result.Output);
        Assert.Matches("rank \\d+: .*(different counts|longer than)", result.Output);
        Assert.Contains("aborting the MPI job", result.Output);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(25), result.ToString());
    }

    /// <summary>A rank that skips an AllReduce: the other's wait on the socket receive ends at the timeout, naming the peer and its endpoint.</summary>
    [MpiFact(MpiJob.OpenMpi)]
    public void ASkippedAllReduceTimesOutOverSocketsNamingThePeer()
    {
        var result = MpiJob.Launch(MpiJob.OpenMpi, 2, "skip", Timeout, Sockets(("ALLREDUCENET_TIMEOUT_SECONDS", "2")));
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Matches("CommunicationTimeoutException: rank 0: AllReduce\\(ring\\) of 100000 x float \\(call #1 on this communicator of 2 ranks\\) " +
                       "timed out after 00:00:02 waiting for rank 0: receive of up to 200000 bytes from rank 1 \\(collective, TCP from \\d+\\.\\d+\\.\\d+\\.\\d+:\\d+\\)\\.",
            result.Output);
        Assert.Contains("aborting the MPI job", result.Output);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(25), result.ToString());
    }

    /// <summary>A value the setting does not know is named at start-up, with what is allowed.</summary>
    [Fact]
    public void ABadSocketSettingIsNamed()
    {
        var error = Assert.Throws<EnvironmentSettingException>(() => new EnvironmentSettings(name => name == "ALLREDUCENET_MPI_SOCKETS" ? "sometimes" : null));
        Assert.Contains("ALLREDUCENET_MPI_SOCKETS", error.Message);
        Assert.Contains("sometimes", error.Message);
        Assert.Contains("all (sockets between every pair of ranks", error.Message);
        var everywhere = new EnvironmentSettings(name => name == "ALLREDUCENET_MPI_SOCKETS" ? "all" : null);
        Assert.True(everywhere.MpiSocketsEverywhere);
        Assert.False(everywhere.MpiSharedMemory);
        Assert.False(new EnvironmentSettings(_ => null).MpiSockets);
        Assert.True(new EnvironmentSettings(name => name == "ALLREDUCENET_MPI_SOCKETS" ? "1" : null).MpiSockets);
        Assert.False(new EnvironmentSettings(name => name == "ALLREDUCENET_MPI_SOCKETS" ? "0" : null).MpiSockets);
    }

    private void AssertPassed(MpiJob.Result result, string passed, int ranks, string library)
    {
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(passed, result.Output);
        Assert.Contains($"ranks={ranks} ", result.Output);
        Assert.DoesNotContain("FAILED", result.Output);
        var transport = Regex.Match(result.Output, @"transport='(mpi \([^']*\))'");
        Assert.True(transport.Success, result.ToString());
        Assert.Equal($"mpi ({library}", transport.Groups[1].Value[..(library.Length + 5)]);
        Assert.EndsWith(", tcp sockets between nodes)", transport.Groups[1].Value);
    }
}
