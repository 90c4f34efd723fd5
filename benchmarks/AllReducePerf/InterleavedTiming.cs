using System.Diagnostics;
using AllReduceNet.Collectives;

namespace AllReduceNet.Perf;

/// <summary>
/// --interleave: at one size the variants take turns call by call (a barrier, then one timed call of each in turn, as
/// many rounds as the sweep's iterations), and each variant's time is the median over its calls of the slowest rank's
/// time. On a machine shared with other work a burst then lands on one call of one variant and moves no median, and
/// every variant runs under the same conditions, so the ratio between them holds where blocks of calls run back to
/// back (all of one variant, then all of the next) swing by tens of percent from run to run.
/// </summary>
public static class InterleavedTiming
{
    /// <summary>Each variant's median seconds per call over <paramref name="rounds"/> rounds; collective over <paramref name="comm"/>.</summary>
    public static double[] Measure<T>(Communicator comm, Span<T> data, ReduceOp op, IReadOnlyList<CollectiveOptions> variants, int rounds)
        where T : unmanaged, System.Numerics.INumber<T>
    {
        var seconds = new double[variants.Count * rounds];   // [variant * rounds + round]: this rank's time, then the slowest rank's
        for (int round = 0; round < rounds; round++)
            for (int v = 0; v < variants.Count; v++)
            {
                comm.Barrier();
                long start = Stopwatch.GetTimestamp();
                comm.AllReduce(data, op, variants[v]);
                seconds[v * rounds + round] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        comm.AllReduce<double>(seconds, ReduceOp.Max, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Tree });
        var medians = new double[variants.Count];
        for (int v = 0; v < variants.Count; v++) medians[v] = Median(seconds.AsSpan(v * rounds, rounds));
        return medians;
    }

    /// <summary>The median (the mean of the middle two for an even count); sorts <paramref name="values"/> in place.</summary>
    public static double Median(Span<double> values)
    {
        if (values.IsEmpty) throw new ArgumentException("the median of no values is undefined", nameof(values));
        values.Sort();
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
