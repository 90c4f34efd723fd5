using System.Diagnostics;

namespace AllReduceNet.Training.Training;

/// <summary>Accumulates the time this rank spends inside communication calls (including waiting on peers).</summary>
internal sealed class CommunicationClock
{
    private long _ticks;

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, _ticks);

    public void Reset() => _ticks = 0;

    /// <summary>Runs <paramref name="action"/> and adds its duration.</summary>
    public void Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        try { action(); }
        finally { Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - start); }
    }

    /// <summary>Adds a duration measured elsewhere (e.g. a wait on a non-blocking collective).</summary>
    public void Add(long startTimestamp) => Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - startTimestamp);
}
