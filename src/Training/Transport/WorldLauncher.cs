using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.Training.Transport;

/// <summary>
/// The one place that chooses the transport: under mpiexec, the MPI world (one rank per process); otherwise
/// in-process ranks as threads. Everything else in Train.dll sees only a <see cref="Communicator"/>.
/// </summary>
internal static class WorldLauncher
{
    private static Communicator? _mpiWorld;

    /// <summary>True when mpiexec started this process.</summary>
    public static bool UnderMpi => MpiRuntime.IsLaunchedByMpiexec;

    /// <summary>True in the process that hosts rank 0 (the one that prints).</summary>
    public static bool IsLeadProcess => _mpiWorld is null || _mpiWorld.Rank == 0;

    /// <summary>Under mpiexec: initializes MPI and returns the world size; otherwise null.</summary>
    /// <exception cref="TrainingException">No MPI library could be loaded.</exception>
    public static int? MpiWorldSize()
    {
        if (!UnderMpi) return null;
        try { _mpiWorld ??= MpiRuntime.Initialize(); }
        catch (MpiUnavailableException e)
        {
            throw new TrainingException($"started by mpiexec, but no MPI library could be loaded: {e.Message}", e);
        }
        return _mpiWorld.Size;
    }

    /// <summary>Runs <paramref name="body"/> on every rank; returns this process's rank 0 result (under MPI: its own rank's).</summary>
    public static T Run<T>(int ranks, Func<Communicator, T> body)
    {
        if (UnderMpi)
        {
            var world = _mpiWorld ?? MpiRuntime.Initialize();
            try { return body(world); }
            catch (Exception e) when (e is not TrainingException)
            {
                // The other ranks may be blocked waiting for this one: end the whole job, naming the cause.
                MpiRuntime.Abort(3, $"training failed: {e}");
                throw;
            }
        }
        return InProcessWorld.Run(ranks, body)[0];
    }

    /// <summary>Finalizes MPI if it was initialized.</summary>
    public static void Shutdown()
    {
        if (_mpiWorld is not null) MpiRuntime.Finalize();
        _mpiWorld = null;
    }
}
