namespace AllReduceNet.Lifecycle.Monitor;

/// <summary>What the monitor knows of one served version: the windows it has seen and how many drifted in a row.</summary>
internal sealed class VersionWatch(string version)
{
    public string Version { get; } = version;
    public long LastEndRow { get; private set; } = -1;
    public int WindowsSeen { get; private set; }
    public int DriftedWindows { get; private set; }
    public int Consecutive { get; private set; }
    public bool Available { get; set; }
    public double? Accuracy { get; set; }
    public long Labeled { get; set; }
    public string? LastSummary { get; set; }

    /// <summary>Counts a window not seen before; windows at or before the last end row are ignored.</summary>
    public void Window(long endRow, bool drift)
    {
        if (endRow <= LastEndRow) return;
        LastEndRow = endRow;
        WindowsSeen++;
        if (drift) { DriftedWindows++; Consecutive++; }
        else Consecutive = 0;
    }

    public void Reset() => Consecutive = 0;

    public object Describe() => new
    {
        version = Version,
        available = Available,
        windows_seen = WindowsSeen,
        drifted_windows = DriftedWindows,
        consecutive_drifted = Consecutive,
        last_end_row = LastEndRow < 0 ? (long?)null : LastEndRow,
        accuracy = Accuracy,
        labeled = Labeled,
        latest = LastSummary,
    };
}
