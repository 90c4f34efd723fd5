namespace AllReduceNet.Collectives.Diagnostics;

/// <summary>One complete event of the timeline, in Stopwatch ticks; <paramref name="Args"/> is a JSON object's members (or null).</summary>
internal readonly record struct TimelineEvent(int Pid, int Tid, string Name, string Category, long StartTicks, long EndTicks, string? Args, long Bytes);
