using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Training.Transport;

/// <summary>
/// The one place that chooses the transport: under mpiexec, the MPI world (one rank per process); otherwise
/// in-process ranks as threads.
/// </summary>
internal static class WorldLauncher
{
    // Environment variables that MPICH/Hydra, Open MPI, Intel MPI and Slurm's PMI set in every launched process.
    private static readonly string[] RankVariables = ["PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MPI_LOCALRANKID"];
    private static readonly string[] SizeVariables = ["PMI_SIZE", "OMPI_COMM_WORLD_SIZE"];

    /// <summary>True when this process was started by mpiexec/mpirun.</summary>
    public static bool IsLaunchedByMpiexec => RankVariables.Any(v => Environment.GetEnvironmentVariable(v) is not null);

    /// <summary>The world size mpiexec announced, or null when not under mpiexec.</summary>
    public static int? LaunchedWorldSize()
    {
        if (!IsLaunchedByMpiexec) return null;
        foreach (string name in SizeVariables)
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out int size)) return size;
        return null;
    }

    /// <summary>Runs <paramref name="body"/> on every rank and returns rank 0's result.</summary>
    /// <exception cref="TrainingException">Started by mpiexec, but this build has no MPI transport.</exception>
    public static T Run<T>(int ranks, Func<Communicator, T> body)
    {
        if (IsLaunchedByMpiexec)
            throw new TrainingException("this Train.dll was started by mpiexec, but it was built without the MPI transport; run it without mpiexec and use --ranks N for in-process ranks.");
        return InProcessWorld.Run(ranks, body)[0];
    }
}
