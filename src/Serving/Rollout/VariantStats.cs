namespace AllReduceNet.Serving;

/// <summary>
/// What one variant of an experiment has done: requests answered, errors (5xx), the latencies of the most recent
/// <see cref="LatencyWindow"/> answers (for p50 and p99), and labeled answers with how many were right. Thread-safe.
/// </summary>
internal sealed class VariantStats
{
    /// <summary>Latencies kept for the percentiles: recent behaviour, in bounded memory.</summary>
    public const int LatencyWindow = 2048;

    private readonly object _lock = new();
    private readonly double[] _latencies = new double[LatencyWindow];
    private long _requests, _errors, _labeled, _correct;

    public void RecordRequest(double milliseconds, bool error)
    {
        lock (_lock)
        {
            if (error) _errors++;
            else _latencies[(_requests - _errors) % LatencyWindow] = milliseconds;
            _requests++;
        }
    }

    public void RecordLabel(bool correct)
    {
        lock (_lock)
        {
            _labeled++;
            if (correct) _correct++;
        }
    }

    /// <summary>The labeled and correct counts alone (what the sequential test needs after each label; no sorting).</summary>
    public (long Labeled, long Correct) Labels()
    {
        lock (_lock) return (_labeled, _correct);
    }

    /// <summary>A consistent copy of the counts and the latency percentiles (NaN before the first answer).</summary>
    public Snapshot Read()
    {
        double[] latencies;
        long requests, errors, labeled, correct;
        lock (_lock)
        {
            (requests, errors, labeled, correct) = (_requests, _errors, _labeled, _correct);
            latencies = _latencies.AsSpan(0, (int)Math.Min(requests - errors, LatencyWindow)).ToArray();
        }
        Array.Sort(latencies);
        return new Snapshot(requests, errors, labeled, correct, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    internal static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>One variant's figures at one moment.</summary>
    public readonly record struct Snapshot(long Requests, long Errors, long Labeled, long Correct, double P50Ms, double P99Ms)
    {
        public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;
        public double Accuracy => Labeled == 0 ? double.NaN : (double)Correct / Labeled;
    }
}
