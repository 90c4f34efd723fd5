using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// Bounds MPI's teardown (freeing the world's communicators and shared-memory window, then MPI_Finalize): started
/// just before it, disposed when MPI_Finalize returns. If it has not returned within
/// the limit, a thread of its own writes one line to standard error (the rank, the library, the likely cause) and ends
/// the process with the exit code the program would have had. By then every collective has completed and the world
/// has met at a final barrier, so nothing of the program's work is lost; only MPI's own teardown is skipped.
/// </summary>
/// <remarks>
/// The process ends through libc's <c>_exit</c>, not <see cref="Environment.Exit"/>: the thread stuck in MPI_Finalize
/// holds the MPI library's locks, and the library's exit-time destructors (UCX's among them) could block on them.
/// </remarks>
internal sealed class FinalizeWatchdog : IDisposable
{
    private readonly ManualResetEventSlim _returned = new();
    private readonly Thread _thread;

    /// <param name="limit">How long MPI_Finalize may take.</param>
    /// <param name="message">The line to write when it does not return in time.</param>
    /// <param name="exitCode">The process's exit code in that case.</param>
    /// <param name="exit">Ends the process (<see cref="ExitNow"/>; a test passes its own).</param>
    public FinalizeWatchdog(TimeSpan limit, string message, int exitCode, Action<int>? exit = null)
    {
        var end = exit ?? ExitNow;
        _thread = new Thread(() =>
        {
            if (_returned.Wait(limit)) return;
            Console.Out.Flush();
            Console.Error.WriteLine(message);
            Console.Error.Flush();
            end(exitCode);
        })
        { IsBackground = true, Name = "MPI_Finalize watchdog" };
        _thread.Start();
    }

    /// <summary>MPI_Finalize returned: the watchdog stands down.</summary>
    public void Dispose()
    {
        _returned.Set();
        _thread.Join();
        _returned.Dispose();
    }

    /// <summary>
    /// The line a rank writes when MPI_Finalize did not return in time: who, which library, how long, what happens
    /// now, and the likely cause: a peer that is gone (the final barrier failed) or that has not reached MPI_Finalize;
    /// under an MPI built on UCX (MPICH's ch4:ucx), also UCX's TCP transport hanging in the flush of openucx/ucx#8738.
    /// </summary>
    public static string Message(string who, string library, string libraryVersion, TimeSpan limit, int exitCode, string? barrierFailure)
    {
        string cause = barrierFailure is not null
            ? $"the final barrier before it failed ({barrierFailure}), so a peer is gone or unreachable"
            : libraryVersion.Contains("ucx", StringComparison.OrdinalIgnoreCase)
                ? "a peer still outside MPI_Finalize, or, between hosts, UCX's TCP transport not completing the flush of its " +
                  "endpoints (openucx/ucx#8738; UCX_TCP_PUT_ENABLE=n avoids it)"
                : "a peer still outside MPI_Finalize or gone, or a link that no longer delivers";
        return $"[allreducenet] {who}: MPI_Finalize (with the teardown before it) in {library} did not return within {limit.TotalSeconds:0.###} s; " +
               $"this rank's work is done and its output flushed, so it exits with code {exitCode} without it. Likely cause: {cause}. " +
               "ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS sets the limit.";
    }

    private static void ExitNow(int code)
    {
        try { ExitProcess(code); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Environment.Exit(code);
        }
    }

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void ExitProcess(int code);
}
