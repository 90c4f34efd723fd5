using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// UCX settings the binding puts into the process environment before MPI_Init, where the user has not set them, for
/// an MPI library built on UCX (MPICH's ch4:ucx device, as Debian 12 ships it). They go through libc's setenv, since
/// UCX reads them with getenv and .NET's Environment.SetEnvironmentVariable does not reach the native environment.
/// </summary>
/// <remarks>
/// UCX_TCP_PUT_ENABLE=n: with UCX 1.13's tcp transport between hosts, MPICH 4.0.2's MPI_Finalize hung in
/// ucp_worker_progress after a job had moved large messages (every rank stuck; openucx/ucx#8738, "TCP transport hangs
/// during cleanup"): rendezvous transfers went over tcp's emulated put_zcopy, whose acknowledgements the endpoint flush
/// at finalize waits for, and UCX stops progressing them too early. Without put, UCX sends rendezvous data as active
/// messages; seen here: the 2 x 2 collective suite across the namespace hosts finalized in 3 runs of 3 with it and hung
/// in 3 of 4 without it (also with a barrier before MPI_Finalize); the ring's speed: see docs/cluster.md.
/// </remarks>
internal static class UcxWorkarounds
{
    /// <summary>The variables and values, applied in this order.</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> Settings = [("UCX_TCP_PUT_ENABLE", "n")];

    /// <summary>True when <paramref name="libraryVersion"/> (MPI_Get_library_version) says the library runs on UCX.</summary>
    public static bool Applies(string libraryVersion) => libraryVersion.Contains("ucx", StringComparison.OrdinalIgnoreCase);

    /// <summary>Sets each of <see cref="Settings"/> that the environment does not already have; returns those it set.</summary>
    public static IReadOnlyList<string> Apply(string libraryVersion)
    {
        var applied = new List<string>();
        if (!Applies(libraryVersion) || !OperatingSystem.IsLinux()) return applied;
        foreach (var (name, value) in Settings)
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))) continue; // the user's choice stands
            try
            {
                if (setenv(name, value, overwrite: 0) == 0) applied.Add($"{name}={value}");
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return applied;
            }
        }
        return applied;
    }

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int setenv(string name, string value, int overwrite);
}
