using System.Diagnostics;
using System.Runtime.CompilerServices;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Diagnostics;

/// <summary>
/// A job timeline in the Chrome trace event format (chrome://tracing, Perfetto), as Horovod's HOROVOD_TIMELINE writes:
/// with <c>ALLREDUCENET_TIMELINE=FILE</c> set, every collective is recorded as a complete event ("ph":"X", pid = the
/// rank in the world, tid = the thread), with its phases inside it: <c>wait for peers</c> (blocked until the first
/// message of the call arrived), <c>transfer</c> (blocked on later messages) and <c>reduce</c> (this thread combining
/// values). Applications add their own spans with <see cref="Span"/> (Train.dll: forward, backward, bucket AllReduce,
/// optimizer step).
/// <para>
/// One file per job: in-process ranks share a process, which writes FILE when it exits; under MPI each rank writes
/// FILE.rankN at <see cref="Transports.Mpi.MpiRuntime.Finalize(int)"/> and rank 0 merges them into FILE (FILE must be on
/// a file system every node sees; parts it cannot see are named on standard error and left in place).
/// </para>
/// <para>
/// Unset, the cost is one test of a static readonly field that the JIT folds to a constant: the recording code is
/// never reached.
/// </para>
/// </summary>
public static class Timeline
{
    /// <summary>The variable that turns the timeline on; its value is the output file.</summary>
    public const string Variable = "ALLREDUCENET_TIMELINE";

    /// <summary>True when ALLREDUCENET_TIMELINE was set (non-empty) when the library was loaded.</summary>
    public static readonly bool IsEnabled = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The file the job's merged timeline goes to; null when the timeline is off.</summary>
    public static string? FilePath { get; } = IsEnabled ? Path.GetFullPath(Environment.GetEnvironmentVariable(Variable)!.Trim()) : null;

    /// <summary>
    /// Starts a span named <paramref name="name"/> on <paramref name="comm"/>'s rank; disposing the result records it.
    /// When the timeline is off this returns an empty value and records nothing.
    /// </summary>
    /// <param name="comm">The communicator whose rank the span belongs to (its rank in the world is the trace's pid).</param>
    /// <param name="name">What the span covers, e.g. "forward".</param>
    /// <param name="category">The trace's "cat" field, for filtering in the viewer.</param>
    /// <exception cref="ArgumentNullException"><paramref name="comm"/> or <paramref name="name"/> is null.</exception>
    public static TimelineSpan Span(Communicator comm, string name, string category = "app")
    {
        if (!IsEnabled) return default;
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentNullException.ThrowIfNull(name);
        return new TimelineSpan(PidOf(comm), name, category, null);
    }

    /// <summary>The world rank of a communicator's rank: in-process from the transport, under MPI this process's world rank.</summary>
    internal static int PidOf(Communicator comm) =>
        comm.Transport is InProcessTransport inProcess ? inProcess.WorldRank : ProcessRank ?? comm.Rank;

    /// <summary>This process's rank in MPI_COMM_WORLD, set when MPI is initialized; null in-process.</summary>
    internal static int? ProcessRank { get; set; }

    /// <summary>The pid of the collective running on this thread, so that a transport's reduction is charged to it.</summary>
    [ThreadStatic] private static int _currentPid;

    /// <summary>Per call on this thread: whether a receive already completed (later waits are "transfer").</summary>
    [ThreadStatic] private static long _firstMessageSeenForCall;

    internal static void EnterCollective(int pid, long callNumber)
    {
        _currentPid = pid;
        _firstMessageSeenForCall = -1 - callNumber;
    }

    /// <summary>Records a blocked wait of the current call: the first one is "wait for peers", later ones "transfer".</summary>
    internal static void Waited(long callNumber, long startTicks)
    {
        bool first = _firstMessageSeenForCall != callNumber;
        _firstMessageSeenForCall = callNumber;
        Record(_currentPid, first ? "wait for peers" : "transfer", "phase", startTicks, Stopwatch.GetTimestamp(), null);
    }

    /// <summary>The time now, in Stopwatch ticks, when the timeline is on; 0 (without reading the clock) when it is off.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long Now() => IsEnabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Records a reduction by this thread since <paramref name="startTicks"/> (from <see cref="Now"/>), charged to the collective that runs on it; nothing when the timeline is off.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Reduced(long startTicks, long bytes)
    {
        if (IsEnabled) Record(_currentPid, "reduce", "phase", startTicks, Stopwatch.GetTimestamp(), null, bytes);
    }

    internal static void Record(int pid, string name, string category, long startTicks, long endTicks, string? args, long bytes = 0) =>
        TimelineRecorder.Mine.Add(new TimelineEvent(pid, Environment.CurrentManagedThreadId, name, category, startTicks, endTicks, args, bytes));
}
