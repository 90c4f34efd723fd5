using System.Diagnostics;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// MPI_Finalize is bounded: in process, the watchdog's own contract (it fires once, late, with the code; it stands
/// down when the call returns); under mpiexec, a rank whose MPI_Finalize cannot return (its peer stays out of it) ends
/// within the limit with one line naming the rank, the library and the likely cause, and with the program's exit code.
/// </summary>
[Collection(MpiCollection.Name)]
public sealed class FinalizeWatchdogTests
{
    private const string Line = "[allreducenet] rank 0 of 2: MPI_Finalize";

    [Fact]
    public void AFinalizeThatDoesNotReturnInTimeEndsTheProcessWithTheProgramsCode()
    {
        using var exited = new ManualResetEventSlim();
        int exitCode = -1;
        var after = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        var watchdog = new FinalizeWatchdog(TimeSpan.FromMilliseconds(300), "stuck", 7, code => { exitCode = code; after = clock.Elapsed; exited.Set(); });
        Assert.True(exited.Wait(TimeSpan.FromSeconds(30)), "the watchdog never fired");
        Assert.Equal(7, exitCode);
        Assert.True(after >= TimeSpan.FromMilliseconds(300), $"fired after {after}, before its limit");
        watchdog.Dispose();
    }

    [Fact]
    public void AFinalizeThatReturnsInTimeLeavesTheProcessAlone()
    {
        int fired = 0;
        using (new FinalizeWatchdog(TimeSpan.FromMilliseconds(500), "stuck", 7, _ => Interlocked.Increment(ref fired)))
            Thread.Sleep(50);
        Thread.Sleep(1000);
        Assert.Equal(0, fired);
    }

    [Fact]
    public void TheLineNamesTheRankTheLibraryTheLimitTheCodeAndTheLikelyCause()
    {
        var ucx = FinalizeWatchdog.Message("rank 3 of 4", "MPICH 4.0.2 (libmpich.so.12)", "MPICH Version: 4.0.2\nMPICH Device: ch4:ucx", TimeSpan.FromSeconds(30), 0, null);
        Assert.StartsWith("[allreducenet] rank 3 of 4: MPI_Finalize", ucx);
        Assert.Contains("in MPICH 4.0.2 (libmpich.so.12) did not return within 30 s", ucx);
        Assert.Contains("exits with code 0", ucx);
        Assert.Contains("openucx/ucx#8738", ucx);
        Assert.Contains("ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS", ucx);
        Assert.DoesNotContain("\n", ucx);

        var gone = FinalizeWatchdog.Message("rank 0 of 2", "Open MPI v4.1.4 (libmpi.so.40)", "Open MPI v4.1.4", TimeSpan.FromSeconds(2.5), 3, "CommunicationTimeoutException: rank 0: Barrier timed out");
        Assert.Contains("within 2.5 s", gone);
        Assert.Contains("exits with code 3", gone);
        Assert.Contains("the final barrier before it failed (CommunicationTimeoutException: rank 0: Barrier timed out)", gone);
        Assert.DoesNotContain("ucx", gone);
    }

    /// <summary>
    /// Rank 1 meets rank 0 at the barrier Finalize begins with, then stays out of MPI_Finalize for 60 s; rank 0's
    /// teardown (MPI_Win_free of the node's window, MPI_Finalize) waits for it, so the 3 s watchdog must end rank 0
    /// with the code its program gave, 7, long before rank 1 wakes.
    /// </summary>
    [MpiTheory(MpiJob.Mpich, MpiJob.OpenMpi)]
    [InlineData(MpiJob.Mpich, "MPICH 4")]
    [InlineData(MpiJob.OpenMpi, "Open MPI v")]
    public void ARankWhoseFinalizeCannotReturnExitsWithinTheLimitWithItsCode(string launcher, string library)
    {
        var result = MpiJob.Launch(launcher, 2, "finalize-late 60", TimeSpan.FromSeconds(90),
            new Dictionary<string, string> { ["ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS"] = "3" });
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode == 7, result.ToString());
        Assert.Contains("rank 1: staying out of MPI_Finalize for 60 s", result.Output);
        Assert.DoesNotContain("woke after", result.Output);
        Assert.Contains($"{Line} (with the teardown before it) in {library}", result.Output);
        Assert.Contains("did not return within 3 s; this rank's work is done and its output flushed, so it exits with code 7 without it. Likely cause: a peer still outside MPI_Finalize", result.Output);
        // Start-up of two .NET ranks under load takes seconds; 60 s is when rank 1 would wake, which must not be waited for.
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(45), result.ToString());
    }
}
