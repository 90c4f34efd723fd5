using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// Every collective, on real MPI processes: the test app compares each result with a sequential reference, with the
/// other ranks (a hash of all results) and with MPI_Allreduce, and prints a summary line from rank 0.
/// </summary>
/// <remarks>
/// All ranks of these jobs share the node, so by default the collectives' messages travel through the shared-memory
/// channel (the transport name says so); ALLREDUCENET_MPI_SHM=0 keeps them on MPI's point-to-point calls, which
/// multi-node jobs use, and tiny slots (ALLREDUCENET_SHM_SLOT_BYTES, ALLREDUCENET_SHM_SLOTS) cut every message into
/// many fragments that wrap around the queues many times.
/// </remarks>
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

    /// <summary>The collectives on MPI_Isend/MPI_Irecv, as between nodes: receives into scratch, then reduce.</summary>
    [MpiFact(MpiJob.Mpich)]
    public void MpichTwoRanksWithoutSharedMemory() =>
        AssertSuitePassed(MpiJob.Launch(MpiJob.Mpich, 2, "suite --large 1048576", Timeout, WithoutSharedMemory), 2, "MPICH", sharedMemory: false);

    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiTwoRanksWithoutSharedMemory() =>
        AssertSuitePassed(MpiJob.Launch(MpiJob.OpenMpi, 2, "suite --large 1048576", Timeout, WithoutSharedMemory), 2, "Open MPI", sharedMemory: false);

    /// <summary>
    /// Two slots of 64 bytes per queue: a 1 MiB segment becomes 16384 fragments, the sender stalls on a full queue
    /// after every second one, and every receive-reduce is cut at fragment boundaries. Results must still be exact and
    /// bitwise identical on every rank.
    /// </summary>
    [MpiFact(MpiJob.Mpich)]
    public void MpichThreeRanksTinySharedMemorySlots() =>
        AssertSuitePassed(MpiJob.Launch(MpiJob.Mpich, 3, "suite --large 65536", Timeout, Slots(64, 2)), 3, "MPICH", slots: "2x64");

    /// <summary>Three slots of 192 bytes: a slot count that is no power of two, and fragments of 24 doubles or 96 Halfs.</summary>
    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiThreeRanksOddSharedMemorySlots() =>
        AssertSuitePassed(MpiJob.Launch(MpiJob.OpenMpi, 3, "suite --large 65536", Timeout, Slots(192, 3)), 3, "Open MPI", slots: "3x192");

    /// <summary>Halves of the world, the world between and beside them, a split numbered backwards, one-rank splits.</summary>
    [MpiFact(MpiJob.Mpich)]
    public void MpichFourRanksSplitCommunicators() =>
        AssertSplitsPassed(MpiJob.Launch(MpiJob.Mpich, 4, "splits", Timeout), 4, "MPICH", sharedMemory: true);

    [MpiFact(MpiJob.OpenMpi)]
    public void OpenMpiFourRanksSplitCommunicatorsWithTinySlots() =>
        AssertSplitsPassed(MpiJob.Launch(MpiJob.OpenMpi, 4, "splits", Timeout, Slots(64, 2)), 4, "Open MPI", sharedMemory: true, slots: "2x64");

    [MpiFact(MpiJob.Mpich)]
    public void MpichThreeRanksSplitCommunicatorsWithoutSharedMemory() =>
        AssertSplitsPassed(MpiJob.Launch(MpiJob.Mpich, 3, "splits", Timeout, WithoutSharedMemory), 3, "MPICH", sharedMemory: false);

    internal static Dictionary<string, string> WithoutSharedMemory => new() { ["ALLREDUCENET_MPI_SHM"] = "0" };

    internal static Dictionary<string, string> Slots(int bytes, int count) => new()
    {
        ["ALLREDUCENET_SHM_SLOT_BYTES"] = bytes.ToString(),
        ["ALLREDUCENET_SHM_SLOTS"] = count.ToString(),
    };

    /// <summary>
    /// One rank started with ALLREDUCENET_MPI_SHM=0 and one without: the ranks agree on the point-to-point path instead
    /// of one waiting in the shared-memory set-up for ever.
    /// </summary>
    [MpiFact(MpiJob.Mpich)]
    public void RanksThatDisagreeOnSharedMemoryAgreeOnPointToPoint()
    {
        var result = MpiJob.LaunchTwoMpichRanksWithDifferentEnvironments("suite --large 65536", Timeout,
            new Dictionary<string, string> { ["ALLREDUCENET_MPI_SHM"] = "0" });
        AssertSuitePassed(result, 2, "MPICH", sharedMemory: false);
    }

    private void AssertSuitePassed(MpiJob.Result result, int ranks, string library, bool sharedMemory = true, string? slots = null)
    {
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("MPI SUITE PASSED", result.Output);
        Assert.Contains($"ranks={ranks} ", result.Output);
        Assert.Contains("failures=0 ", result.Output);
        AssertTransport(result, library, sharedMemory, slots);
    }

    private void AssertSplitsPassed(MpiJob.Result result, int ranks, string library, bool sharedMemory, string? slots = null)
    {
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("MPI SPLITS PASSED", result.Output);
        Assert.Contains($"ranks={ranks} ", result.Output);
        Assert.Contains("failures=0", result.Output);
        Assert.DoesNotContain("FAILED", result.Output);
        AssertTransport(result, library, sharedMemory, slots);
    }

    /// <summary>"mpi (MPICH 4.0.2, shared memory)" with the channel, "mpi (MPICH 4.0.2)" without; the slot geometry where given.</summary>
    private static void AssertTransport(MpiJob.Result result, string library, bool sharedMemory, string? slots)
    {
        var transport = Regex.Match(result.Output, @"transport='(mpi \([^']*\))' [^\n]*shm-slots=(\S+)");
        Assert.True(transport.Success, result.ToString());
        Assert.StartsWith($"mpi ({library}", transport.Groups[1].Value);
        if (sharedMemory)
        {
            Assert.EndsWith(", shared memory)", transport.Groups[1].Value);
            if (slots is null) Assert.Matches(@"^\d+x\d+$", transport.Groups[2].Value);
            else Assert.Equal(slots, transport.Groups[2].Value);
        }
        else
        {
            Assert.DoesNotContain("shared memory", transport.Groups[1].Value);
            Assert.Equal("none", transport.Groups[2].Value);
        }
    }
}
