using System.Diagnostics;

namespace AllReduceNet.Training.Training;

/// <summary>
/// Where one rank's epoch went: wall time summed per <see cref="TrainingPhase"/>. Strategies measure with
/// <see cref="Measure"/> (a struct scope: nothing is allocated per step); the trainer resets it each epoch and
/// averages it over the ranks for the report. Phases are measured on the compute thread only, so they do not overlap
/// and their sum is at most this rank's time in the epoch; the rest (progress, the step's bookkeeping) is "other".
/// </summary>
internal sealed class PhaseTimings
{
    private readonly long[] _ticks = new long[PhaseCount];

    /// <summary>The number of phases (the values of <see cref="TrainingPhase"/>).</summary>
    public const int PhaseCount = 5;

    /// <summary>The JSON name of each phase, in <see cref="TrainingPhase"/> order.</summary>
    public static readonly string[] Names = ["data_loading", "forward", "backward", "allreduce_wait", "optimizer"];

    public void Reset() => Array.Clear(_ticks);

    /// <summary>Seconds spent in <paramref name="phase"/> since the last <see cref="Reset"/>.</summary>
    public double Seconds(TrainingPhase phase) => (double)Volatile.Read(ref _ticks[(int)phase]) / Stopwatch.Frequency;

    /// <summary>The raw tick count of <paramref name="phase"/>, for measuring a phase that contains another
    /// (<see cref="AddExcluding"/>).</summary>
    public long Ticks(TrainingPhase phase) => Volatile.Read(ref _ticks[(int)phase]);

    /// <summary>Adds the time since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/>) to <paramref name="phase"/>.</summary>
    public void Add(TrainingPhase phase, long startTimestamp) =>
        Interlocked.Add(ref _ticks[(int)phase], Stopwatch.GetTimestamp() - startTimestamp);

    /// <summary>
    /// Adds the time since <paramref name="startTimestamp"/> to <paramref name="phase"/> less what <paramref name="inner"/>
    /// gained meanwhile (its ticks were <paramref name="innerTicksAtStart"/>): the backward pass with --no-overlap blocks
    /// on each bucket's AllReduce, and that time belongs to the wait, not twice to both.
    /// </summary>
    public void AddExcluding(TrainingPhase phase, long startTimestamp, TrainingPhase inner, long innerTicksAtStart)
    {
        long elapsed = Stopwatch.GetTimestamp() - startTimestamp - (Ticks(inner) - innerTicksAtStart);
        Interlocked.Add(ref _ticks[(int)phase], Math.Max(0, elapsed));
    }

    /// <summary>Times a block: <c>using (phases.Measure(TrainingPhase.Optimizer)) ...</c>.</summary>
    public Scope Measure(TrainingPhase phase) => new(this, phase, Stopwatch.GetTimestamp());

    /// <summary>Copies the seconds of every phase, in <see cref="TrainingPhase"/> order, into <paramref name="destination"/>.</summary>
    public void CopySeconds(Span<double> destination)
    {
        for (int p = 0; p < PhaseCount; p++) destination[p] = Seconds((TrainingPhase)p);
    }

    /// <summary>A running measurement; disposing it adds the elapsed time to its phase.</summary>
    public readonly struct Scope(PhaseTimings owner, TrainingPhase phase, long start) : IDisposable
    {
        public void Dispose() => owner.Add(phase, start);
    }
}
