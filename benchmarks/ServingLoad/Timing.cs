using System.Diagnostics;

namespace AllReduceNet.Serving.LoadBenchmarks;

/// <summary>Measures as BenchmarkDotNet's short in-process job does (warm-ups, then iterations of about a quarter
/// second, the median reported) without its process machinery, so that the whole serving run stays one script.</summary>
internal static class Timing
{
    /// <summary>Seconds per call of <paramref name="call"/>: the median over <paramref name="iterations"/> measured iterations.</summary>
    public static double MedianSecondsPerCall(Action call, int warmups = 3, int iterations = 15, double iterationSeconds = 0.25)
    {
        // Pilot: how many calls fill an iteration.
        long pilotCalls = 0;
        var pilot = Stopwatch.StartNew();
        while (pilot.Elapsed.TotalSeconds < iterationSeconds / 5) { call(); pilotCalls++; }
        long callsPerIteration = Math.Max(1, (long)(iterationSeconds / (pilot.Elapsed.TotalSeconds / pilotCalls)));
        var measured = new List<double>();
        for (int i = 0; i < warmups + iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            for (long c = 0; c < callsPerIteration; c++) call();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds / callsPerIteration;
            if (i >= warmups) measured.Add(seconds);
        }
        return Median(measured);
    }

    public static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }

    /// <summary>The value below which <paramref name="percent"/>% of <paramref name="sorted"/> lie (nearest rank).</summary>
    public static double Percentile(long[] sorted, double percent)
    {
        if (sorted.Length == 0) return double.NaN;
        int rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
