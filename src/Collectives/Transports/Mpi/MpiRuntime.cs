using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The MPI transport's entry point: loads the system's MPI library (at the first call, never earlier), initializes it,
/// and hands out the world communicator. Run the program under <c>mpiexec -n N dotnet app.dll</c>; every process
/// calls <see cref="Initialize"/> once at start and <see cref="Finalize(int)"/> before it exits.
/// </summary>
/// <remarks>
/// The library is ALLREDUCENET_MPI_LIBRARY if set, otherwise libmpich.so.12 / libmpi.so.12 (MPICH ABI: MPICH, Intel
/// MPI, MVAPICH, Cray) or libmpi.so.40 (Open MPI), the launcher's family first. MPI_THREAD_MULTIPLE is requested by
/// default; when less is granted every MPI call is serialized through one lock. Initialize installs an
/// unhandled-exception hook that calls MPI_Abort, so one failing rank ends the whole job instead of leaving the others
/// blocked. See docs/mpi.md.
/// </remarks>
public static class MpiRuntime
{
    private const int AbortGraceMilliseconds = 300;
    private static readonly object Gate = new();
    private static MpiLibrary? _library;
    private static Communicator? _world;
    private static bool _hookInstalled;

    /// <summary>True when an MPI launcher (Open MPI's or an MPICH-family mpiexec, Slurm with PMI) started this process, judged from its environment.</summary>
    public static bool IsLaunchedByMpiexec => MpiLibraryLoader.LaunchedByOpenMpi || MpiLibraryLoader.LaunchedByPmiLauncher;

    /// <summary>True between <see cref="Initialize"/> and <see cref="Finalize(int)"/>.</summary>
    public static bool IsInitialized => _world is not null && _library is { IsFinalized: false };

    /// <summary>The loaded library's short name, e.g. "MPICH 4.0.2" or "Open MPI v4.1.4"; null before <see cref="Initialize"/>.</summary>
    public static string? LibraryName => _library?.ShortName;

    /// <summary>MPI_Get_library_version's full text; null before <see cref="Initialize"/>.</summary>
    public static string? LibraryVersion => _library?.Version;

    /// <summary>The MPI library file that was loaded; null before <see cref="Initialize"/>.</summary>
    public static string? LibraryPath => _library?.Path;

    /// <summary>The ABI of the loaded library; null before <see cref="Initialize"/>.</summary>
    public static MpiAbi? Abi => _library?.Abi;

    /// <summary>
    /// The thread level MPI granted; null before <see cref="Initialize"/>, or when other code had initialized MPI.
    /// Below <see cref="MpiThreadLevel.Multiple"/> the binding serializes all MPI calls through one lock.
    /// </summary>
    public static MpiThreadLevel? ThreadLevel => _library?.ThreadLevel;

    /// <summary>
    /// Loads and initializes MPI (MPI_Init_thread with <paramref name="threadLevel"/>) and returns the world
    /// communicator: MPI_COMM_WORLD with MPI_ERRORS_RETURN, its collectives on an MPI_Comm_dup of it. Calling it again
    /// returns the same communicator. If other code initialized MPI already, that initialization is used.
    /// </summary>
    /// <param name="threadLevel">
    /// The level to ask for. <see cref="MpiThreadLevel.Multiple"/> (the default) lets any thread call MPI at any time;
    /// with less, the binding serializes its calls through one lock, and with <see cref="MpiThreadLevel.Funneled"/> or
    /// <see cref="MpiThreadLevel.Single"/> the caller must make every MPI call on this thread.
    /// </param>
    /// <exception cref="MpiUnavailableException">No MPI library could be loaded; the message says what was tried and how to install one.</exception>
    /// <exception cref="MpiException">MPI failed to initialize, or the launcher and the library disagree (e.g. Open MPI's mpiexec with MPICH's library).</exception>
    /// <exception cref="InvalidOperationException">MPI was already finalized in this process.</exception>
    /// <exception cref="EnvironmentSettingException">An ALLREDUCENET_* variable has a bad value.</exception>
    public static Communicator Initialize(MpiThreadLevel threadLevel = MpiThreadLevel.Multiple)
    {
        lock (Gate)
        {
            if (_world is not null && !_library!.IsFinalized) return _world;
            if (_library is { IsFinalized: true })
                throw new InvalidOperationException("MPI was finalized in this process; MPI cannot be initialized twice.");

            if (_library is null)
            {
                var loaded = MpiLibraryLoader.Load();
                loaded.Check(loaded.Finalized(out bool finalized), "MPI_Finalized", -1);
                if (finalized) throw new InvalidOperationException($"MPI ({loaded.Path}) was already finalized by other code in this process.");
                loaded.Check(loaded.Initialized(out bool initialized), "MPI_Initialized", -1);
                // Initialized by other code: its thread level is unknown here, so every call keeps the lock.
                if (!initialized) UcxWorkarounds.Apply(loaded.Version);
                if (!initialized) loaded.Check(loaded.InitThread(threadLevel), $"MPI_Init_thread(MPI_THREAD_{threadLevel.ToString().ToUpperInvariant()})", -1);
                _library = loaded; // from here on Finalize and Abort work, even if the checks below fail
            }
            var mpi = _library;

            _ = EnvironmentSettings.Current; // a bad ALLREDUCENET_* value is reported here, before any MPI traffic
            var world = new Communicator(new MpiTransport(mpi, mpi.Handles.CommWorld, ownsUserComm: false));
            if (MpiLibraryLoader.LauncherWorldSize is int announced && announced != world.Size)
            {
                world.Dispose();
                throw new MpiException(
                    $"rank {world.Rank}: the launcher started {announced} processes but {mpi.ShortName} ({mpi.Path}) sees a world of {world.Size}: " +
                    $"the mpiexec and the MPI library come from different families (Open MPI vs MPICH). Use the mpiexec of the library's family, " +
                    $"or set {MpiLibraryLoader.LibraryVariable} to the library of the mpiexec's family.", -1, -1);
            }
            _world = world;
            Diagnostics.Timeline.ProcessRank = world.Rank;
            if (!_hookInstalled)
            {
                AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
                _hookInstalled = true;
            }
            return world;
        }
    }

    /// <summary>
    /// Finalizes MPI as <see cref="Finalize(int)"/> does, with <see cref="Environment.ExitCode"/> as the exit code
    /// should MPI_Finalize not return in time. A program whose Main returns its code should pass it to
    /// <see cref="Finalize(int)"/> instead.
    /// </summary>
    /// <exception cref="MpiException">MPI_Finalize failed.</exception>
#pragma warning disable CS0465 // named after MPI_Finalize; a static class has no destructor for it to shadow
    public static void Finalize() => Finalize(Environment.ExitCode);
#pragma warning restore CS0465

    /// <summary>
    /// Meets the other ranks at a final barrier, frees the world communicator's duplicate and calls MPI_Finalize,
    /// bounded: if that teardown has not returned within ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS (30 s if unset), this
    /// rank writes one line naming itself, the library and the likely cause to standard error and exits the process
    /// with <paramref name="exitCode"/>. Every rank calls it once, after its last MPI communication and after it has
    /// written its results; communicators still alive refuse further calls afterwards. Does nothing if MPI is not
    /// initialized.
    /// </summary>
    /// <remarks>
    /// The bound exists because MPI_Finalize can hang after all work is done: MPICH 4.0 on UCX 1.13 (Debian 12) with
    /// UCX's TCP transport between hosts, in the endpoint flush of openucx/ucx#8738. The barrier first makes the limit
    /// count from the moment every rank is ready, so a rank that finishes early is not cut off while its peers still
    /// work (MPI_Finalize waits for all of them). A barrier that fails (a peer gone) does not stop the finalize; the
    /// line then says so.
    /// </remarks>
    /// <param name="exitCode">The code this process exits with should MPI_Finalize not return in time: the one it would have had.</param>
    /// <exception cref="MpiException">MPI_Finalize failed.</exception>
    public static void Finalize(int exitCode)
    {
        lock (Gate)
        {
            if (_library is not { IsFinalized: false } mpi) return;
            int rank = _world?.Rank ?? -1;
            string who = _world is { } named ? $"rank {named.Rank} of {named.Size}" : $"process {Environment.ProcessId}";
            string? barrierFailure = null;
            if (_world is { IsDisposed: false } world)
            {
                // The timeline's parts are written and merged while the world can still meet at a barrier.
                if (Diagnostics.Timeline.IsEnabled) Diagnostics.TimelineFiles.WriteMpi(world);
                try { world.Barrier(); }
                catch (Exception e) when (e is CollectiveException or InvalidOperationException)
                {
                    barrierFailure = $"{e.GetType().Name}: {e.Message}";
                }
            }
            // From here on MPI tears down, and each step can block on a peer: freeing the node's shared-memory window
            // (MPI_Win_free is collective), the communicators, MPI_Finalize itself. One bound covers them all.
            var limit = EnvironmentSettings.Current.FinalizeTimeout;
            int rc;
            using (new FinalizeWatchdog(limit, FinalizeWatchdog.Message(who, $"{mpi.ShortName} ({mpi.Path})", mpi.Version, limit, exitCode, barrierFailure), exitCode))
            {
                _world?.Dispose();
                MpiTransport.WithdrawControlReceives();
                mpi.IsFinalized = true;
                rc = mpi.Finalize();
            }
            mpi.Check(rc, "MPI_Finalize", rank);
        }
    }

    /// <summary>MPI_Wtime: seconds since an arbitrary point in the past, on this rank's clock.</summary>
    /// <exception cref="InvalidOperationException">MPI was not initialized.</exception>
    public static double Wtime() => (_library ?? throw NotInitialized("Wtime")).Wtime();

    /// <summary>
    /// Ends the whole MPI job: writes <paramref name="message"/> to standard error, naming this rank, then calls
    /// MPI_Abort on MPI_COMM_WORLD with <paramref name="code"/>. Does not return. Without MPI initialized it exits
    /// this process with the code.
    /// </summary>
    [DoesNotReturn]
    public static void Abort(int code, string message)
    {
        var mpi = _library;
        var world = _world;
        var who = world is not null ? $"rank {world.Rank} of {world.Size}" : $"process {Environment.ProcessId}";
        Console.Out.Flush();
        Console.Error.Flush();
        // One write of the whole report: Console.Error writes in 256-character pieces, and the launcher merges every
        // rank's stderr, so two ranks aborting at once had their reports cut into each other mid-line.
        using (var stderr = Console.OpenStandardError())
        {
            stderr.Write(Encoding.UTF8.GetBytes($"[allreducenet] {who}: {message} (aborting the MPI job with code {code}){Environment.NewLine}"));
            stderr.Flush();
        }
        if (mpi is { IsFinalized: false })
        {
            // The launcher forwards our output through a pipe and tears the job down at MPI_Abort; without a pause
            // it sometimes kills the forwarder before the message above got through (seen with MPICH's hydra).
            Thread.Sleep(AbortGraceMilliseconds);
            mpi.Abort(mpi.Handles.CommWorld, code);
        }
        Environment.Exit(code);
        throw new InvalidOperationException("unreachable: the process exited");
    }

    private static void OnUnhandledException(object sender, UnhandledExceptionEventArgs e)
    {
        if (_library is not { IsFinalized: false }) return;
        Abort(1, $"unhandled exception, ending the whole job: {(e.ExceptionObject as Exception)?.ToString() ?? e.ExceptionObject?.ToString()}");
    }

    private static InvalidOperationException NotInitialized(string member) =>
        new($"MpiRuntime.{member} needs MPI: call MpiRuntime.Initialize() first.");
}
