using System.Diagnostics;

namespace AllReduceNet.Collectives;

/// <summary>A point in time to give up waiting, shared by all the waits of one operation.</summary>
internal readonly struct Deadline
{
    private readonly long _ticks; // Stopwatch timestamp; long.MaxValue means never

    private Deadline(long ticks) => _ticks = ticks;

    public static Deadline After(TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan || timeout >= TimeSpan.FromDays(3650)
            ? new Deadline(long.MaxValue)
            : new Deadline(Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency));

    /// <summary>This deadline or <paramref name="slice"/> from now, whichever comes first: a wait that looks up now and then.</summary>
    public Deadline Within(TimeSpan slice)
    {
        long soon = Stopwatch.GetTimestamp() + (long)(slice.TotalSeconds * Stopwatch.Frequency);
        return new Deadline(Math.Min(_ticks, soon));
    }

    /// <summary>The time left as a timeout for a nested operation (at least 1 ms); <paramref name="whenInfinite"/> when this deadline is never.</summary>
    public TimeSpan Remaining(TimeSpan whenInfinite)
    {
        if (IsInfinite) return whenInfinite;
        long left = _ticks - Stopwatch.GetTimestamp();
        return TimeSpan.FromSeconds(Math.Max(left, 0) / (double)Stopwatch.Frequency) + TimeSpan.FromMilliseconds(1);
    }

    public bool IsInfinite => _ticks == long.MaxValue;

    public bool HasPassed => !IsInfinite && Stopwatch.GetTimestamp() >= _ticks;

    /// <summary>Milliseconds left, clamped to [0, cap], for a bounded blocking wait.</summary>
    public int RemainingMilliseconds(int cap)
    {
        if (IsInfinite) return cap;
        long left = _ticks - Stopwatch.GetTimestamp();
        if (left <= 0) return 0;
        double ms = left * 1000.0 / Stopwatch.Frequency;
        return ms >= cap ? cap : Math.Max(1, (int)ms);
    }
}
