using System.Collections.Concurrent;
using System.Diagnostics;

namespace AllReduceNet.Collectives.Diagnostics;

/// <summary>
/// The events of one thread, kept without locks, registered once in a process-wide list for the writer. Consecutive
/// phase events of one name that touch (a transport reduces a 64 KiB message in 32 KiB blocks) are merged into one,
/// so a trace holds one event per phase, not one per block.
/// </summary>
internal sealed class TimelineRecorder
{
    /// <summary>At most this many events per process (about 100 MB in memory); later ones are counted, not kept.</summary>
    internal const int MaxEventsPerProcess = 2_000_000;

    private static readonly ConcurrentQueue<TimelineRecorder> All = new();
    private static int _kept;
    private static long _dropped;
    private static int _exitHookInstalled;
    private static readonly long MergeGapTicks = Stopwatch.Frequency / 200_000; // 5 µs

    [ThreadStatic] private static TimelineRecorder? _mine;

    private readonly List<TimelineEvent> _events = new(1024);
    private readonly Lock _gate = new();

    /// <summary>This thread's recorder, made and registered on first use.</summary>
    public static TimelineRecorder Mine => _mine ?? Register();

    private static TimelineRecorder Register()
    {
        _mine = new TimelineRecorder();
        All.Enqueue(_mine);
        if (Interlocked.Exchange(ref _exitHookInstalled, 1) == 0)
            AppDomain.CurrentDomain.ProcessExit += (_, _) => TimelineFiles.WriteAtExit();
        return _mine;
    }

    /// <summary>Events the cap left out.</summary>
    public static long Dropped => Interlocked.Read(ref _dropped);

    public void Add(in TimelineEvent e)
    {
        lock (_gate) // taken by this thread alone, except while the writer copies: uncontended
        {
            if (_events.Count > 0 && e.Category == "phase")
            {
                var last = _events[^1];
                if (last.Name == e.Name && last.Pid == e.Pid && last.Category == "phase" && e.StartTicks - last.EndTicks <= MergeGapTicks)
                {
                    _events[^1] = last with { EndTicks = e.EndTicks, Bytes = last.Bytes + e.Bytes };
                    return;
                }
            }
            if (Interlocked.Increment(ref _kept) > MaxEventsPerProcess)
            {
                Interlocked.Increment(ref _dropped);
                return;
            }
            _events.Add(e);
        }
    }

    /// <summary>A copy of every thread's events so far.</summary>
    public static List<TimelineEvent> Snapshot()
    {
        var copy = new List<TimelineEvent>();
        foreach (var recorder in All)
            lock (recorder._gate) copy.AddRange(recorder._events);
        return copy;
    }
}
