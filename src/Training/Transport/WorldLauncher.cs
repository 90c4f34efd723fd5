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
    private static int? _firstFailedRank;

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

    /// <summary>
    /// Collective under MPI, before training: every rank says whether it found a problem; if any did, every rank
    /// throws, and <see cref="ShouldReport"/> picks the lowest such rank to print. In-process there is one process and
    /// nothing to agree on.
    /// </summary>
    /// <exception cref="TrainingException">Another rank found a problem (this rank found none).</exception>
    public static void AgreeOnFailure(TrainingException? problem)
    {
        if (_mpiWorld is null) return;
        Span<int> first = [problem is null ? int.MaxValue : _mpiWorld.Rank];
        _mpiWorld.AllReduce(first, ReduceOp.Min);
        _firstFailedRank = first[0] == int.MaxValue ? null : first[0];
        if (problem is null && _firstFailedRank is int rank)
            throw new TrainingException($"rank {rank} could not start (it prints why); stopping.");
    }

    /// <summary>What this process puts before the lines it prints: "[rank N] " in an MPI job of several processes, else nothing.</summary>
    public static string RankPrefix => _mpiWorld is { } world ? Cli.BatchOutput.RankPrefix(world.Rank, world.Size) : "";

    /// <summary>True in the process that should print <paramref name="problem"/>.</summary>
    public static bool ShouldReport(TrainingException problem) =>
        _mpiWorld is null || _mpiWorld.Rank == (_firstFailedRank ?? 0);

    /// <summary>Runs <paramref name="body"/> on every rank; returns this process's rank 0 result (under MPI: its own rank's).</summary>
    public static T Run<T>(int ranks, Func<Communicator, T> body)
    {
        if (UnderMpi)
        {
            var world = _mpiWorld ?? MpiRuntime.Initialize();
            try { return body(world); }
            catch (Exception e)
            {
                // The other ranks may be blocked waiting for this one: end the whole job, naming the cause.
                MpiRuntime.Abort(e is TrainingException ? 2 : 3, e is TrainingException ? $"error: {e.Message}" : $"training failed: {e}");
                throw;
            }
        }
        return InProcessWorld.Run(ranks, body)[0];
    }

    /// <summary>Finalizes MPI if it was initialized; <paramref name="exitCode"/> is the process's code should MPI_Finalize not return in time.</summary>
    public static void Shutdown(int exitCode)
    {
        if (_mpiWorld is not null) MpiRuntime.Finalize(exitCode);
        _mpiWorld = null;
    }
}
