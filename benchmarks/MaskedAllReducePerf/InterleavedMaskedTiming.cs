using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Perf;
using AllReduceNet.Privacy;

namespace AllReduceNet.MaskedPerf;

/// <summary>One variant at one size under --interleave: the median call and the spread, slowest rank, and busbw as a ratio of the plain ring's median.</summary>
public sealed record InterleavedRow(long Bytes, string Variant, int Calls, double Median, double Min, double Max, double BusBw, double RatioToPlain);

/// <summary>
/// --interleave: the plain ring and the masked rings take turns call by call at each size (a barrier, then one
/// timed call of each variant in turn, each on the vector the previous call left), each call timed on its slowest rank, and each variant's median
/// call reported, as AllReducePerf --interleave does for the algorithms (<see cref="InterleavedTiming"/>). A burst of
/// other work then lands on one call of one variant and moves no median, and both variants run under the same
/// conditions, so the ratio of medians holds where blocks of calls (all plain, then all masked) swung by a third
/// from run to run on a shared machine (benchmarks/RESULTS-federated.md, "maskspeed 6").
/// </summary>
public static class InterleavedMaskedTiming
{
    public static List<InterleavedRow> Run(Communicator comm, long[] sizes, int calls, int neighbours, int? segmentBytes = null)
    {
        var ring = new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring };
        var maskedRing = ring with { SegmentBytes = segmentBytes };
        var allPairs = MaskedAllReduce.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f });
        var near = neighbours > 0 ? MaskedAllReduce.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f, Neighbours = neighbours }) : null;
        var variants = new List<(string Name, Action<float[]> Call)>
        {
            ("plain ring", d => comm.AllReduce<float>(d, ReduceOp.Sum, ring)),
            ($"masked ring chacha8, all {comm.Size - 1}", d => allPairs.Sum(d, maskedRing)),
        };
        if (near is not null) variants.Add((MaskedSweep.NeighbourLabel(near), d => near.Sum(d, maskedRing)));

        var rows = new List<InterleavedRow>();
        foreach (long bytes in sizes)
        {
            int count = (int)(bytes / sizeof(float));
            var input = new float[count];
            for (int i = 0; i < count; i++) input[i] = ((i * 7 + comm.Rank * 3) % 11 - 5) / 16f;
            var data = GC.AllocateUninitializedArray<float>(count, pinned: true);
            var seconds = new double[variants.Count * calls];   // [variant * calls + call]: this rank's time, then the slowest rank's
            foreach (var variant in variants)
            {
                input.CopyTo(data);
                variant.Call(data);   // warm-up: first touches, pool rentals
            }
            for (int call = 0; call < calls; call++)
                for (int v = 0; v < variants.Count; v++)
                {
                    // Back to back on the previous call's result, as AllReducePerf --interleave: a copy of the input
                    // before each call left dirty lines that slowed the plain ring's next call by a quarter at 64 MiB
                    // and not the masked one's. The values stay bounded: each masked call clamps them to the clip range.
                    comm.Barrier();
                    long start = Stopwatch.GetTimestamp();
                    variants[v].Call(data);
                    seconds[v * calls + call] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                }
            comm.AllReduce<double>(seconds, ReduceOp.Max, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Tree });
            double plainMedian = 0;
            for (int v = 0; v < variants.Count; v++)
            {
                var mine = seconds.AsSpan(v * calls, calls);
                double median = InterleavedTiming.Median(mine);   // sorts: mine[0] is the fastest call after it
                if (v == 0) plainMedian = median;
                double busbw = bytes / median / 1e9 * 2 * (comm.Size - 1) / comm.Size;
                rows.Add(new InterleavedRow(bytes, variants[v].Name, calls, median, mine[0], mine[^1], busbw, plainMedian / median));
            }
        }
        return rows;
    }

    public static void Print(Communicator comm, List<InterleavedRow> rows)
    {
        Console.WriteLine($"# interleaved: {comm.TransportName}, {comm.Size} ranks; the variants take turns call by call after a barrier, each call timed on its slowest rank; median over {rows.FirstOrDefault()?.Calls ?? 0} calls per variant; x plain = plain median / this median");
        Console.WriteLine($"# {"size",10} {"variant",-34} {"median(us)",11} {"min(us)",10} {"max(us)",10} {"busbw(GB/s)",12} {"x plain",8}");
        foreach (var r in rows)
            Console.WriteLine($"  {MaskedSweep.FormatSize(r.Bytes),10} {r.Variant,-34} {r.Median * 1e6,11:F0} {r.Min * 1e6,10:F0} {r.Max * 1e6,10:F0} {r.BusBw,12:F3} {r.RatioToPlain,8:F2}");
    }
}
