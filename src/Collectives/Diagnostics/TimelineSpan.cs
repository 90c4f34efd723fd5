using System.Diagnostics;

namespace AllReduceNet.Collectives.Diagnostics;

/// <summary>
/// An open span of the <see cref="Timeline"/>: made by <see cref="Timeline.Span"/>, recorded when disposed. The
/// default value (what a disabled timeline returns) records nothing.
/// </summary>
public readonly struct TimelineSpan : IDisposable
{
    private readonly string? _name;
    private readonly string? _category;
    private readonly string? _args;
    private readonly int _pid;
    private readonly long _start;

    internal TimelineSpan(int pid, string name, string category, string? args)
    {
        _pid = pid;
        _name = name;
        _category = category;
        _args = args;
        _start = Stopwatch.GetTimestamp();
    }

    /// <summary>Records the span from its start until now (nothing for the default value).</summary>
    public void Dispose()
    {
        if (_name is not null) Timeline.Record(_pid, _name, _category!, _start, Stopwatch.GetTimestamp(), _args);
    }
}
