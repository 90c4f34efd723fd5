using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Privacy;

namespace AllReduceNet.MaskedPerf;

/// <summary>One size and variant: seconds per call (slowest rank, best round), bandwidths, and whether the result was exact.</summary>
public sealed record MaskedRow(long Bytes, string Variant, double Seconds, double AlgBw, double BusBw, double RatioToPlain, bool Exact,
    double CpuSeconds = 0, double CpuRatioToPlain = 0);

/// <summary>
/// Times the plain float ring AllReduce and the masked ones on the same buffer, in rounds that take turns, so that a
/// burst of load from elsewhere on the machine hits all variants alike; each variant's best round counts.
/// </summary>
public static class MaskedSweep
{
    /// <summary>
    /// The neighbour variant's name; ", 2/N" where the fused ring masks each chunk with its owner pair only
    /// (<see cref="MaskedAllReduce.LargestSafeCoalition"/> 1: 2/N mask words per element and rank, not 2).
    /// </summary>
    public static string NeighbourLabel(MaskedAllReduce near) =>
        $"masked ring chacha8, {near.Peers.Count} nbrs{(near.LargestSafeCoalition <= 1 ? ", 2/N" : "")}";

    public static List<MaskedRow> Run(Communicator comm, long[] sizes, int iters, int rounds, int neighbours, int? segmentBytes = null)
    {
        var ring = new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring };
        var maskedRing = ring with { SegmentBytes = segmentBytes };
        var allPairs = MaskedAllReduce.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f });
        var philox = MaskedAllReduce.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f, Generator = MaskGenerator.Philox });
        var unfused = MaskedAllReduce.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f, FuseIntoRing = false });
        var near = neighbours > 0 ? MaskedAllReduce.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f, Neighbours = neighbours }) : null;
        var variants = new List<(string Name, Action<float[]> Call, MaskedAllReduce? Masked)> { ("plain ring", d => comm.AllReduce<float>(d, ReduceOp.Sum, ring), null) };
        variants.Add(($"masked ring chacha8, all {comm.Size - 1}", d => allPairs.Sum(d, maskedRing), allPairs));
        variants.Add(($"masked ring philox, all {comm.Size - 1}", d => philox.Sum(d, maskedRing), philox));
        variants.Add(($"unfused chacha8, all {comm.Size - 1}", d => unfused.Sum(d, ring), unfused));
        if (near is not null) variants.Add((MaskedSweep.NeighbourLabel(near), d => near.Sum(d, maskedRing), near));

        var rows = new List<MaskedRow>();
        var slowest = new double[1];
        var cpu = new double[1];
        bool inProcess = comm.TransportName.StartsWith("in-process", StringComparison.Ordinal);
        foreach (long bytes in sizes)
        {
            int count = (int)(bytes / sizeof(float));
            var data = GC.AllocateUninitializedArray<float>(count, pinned: true);
            int n = bytes >= 64 << 20 ? Math.Min(iters, 3) : iters;
            var best = new double[variants.Count];
            var bestCpu = new double[variants.Count];
            Array.Fill(best, double.MaxValue);
            Array.Fill(bestCpu, double.MaxValue);
            for (int round = 0; round < rounds; round++)
            for (int v = 0; v < variants.Count; v++)
            {
                Fill(data, comm.Rank);
                variants[v].Call(data); // warm-up: first touches, pool rentals
                comm.Barrier();
                // CPU seconds of this process per call (in-process: every rank's thread; under MPI: this rank's
                // process, summed over ranks below): on a machine shared with other work they follow the work
                // done, where the wall clock follows the other work's load.
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < n; i++) variants[v].Call(data);
                slowest[0] = watch.Elapsed.TotalSeconds / n;
                comm.AllReduce<double>(slowest, ReduceOp.Max);
                best[v] = Math.Min(best[v], slowest[0]);
                cpu[0] = comm.Rank == 0 || !inProcess ? (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / n : 0;
                comm.AllReduce<double>(cpu, ReduceOp.Sum);
                bestCpu[v] = Math.Min(bestCpu[v], cpu[0]);
            }
            double plainBus = 0, plainCpu = 0;
            for (int v = 0; v < variants.Count; v++)
            {
                bool exact = v == 0 || Check(comm, variants[v].Call, data, variants[v].Masked!);
                double algbw = bytes / best[v] / 1e9, busbw = algbw * 2 * (comm.Size - 1) / comm.Size;
                if (v == 0) (plainBus, plainCpu) = (busbw, bestCpu[v]);
                rows.Add(new MaskedRow(bytes, variants[v].Name, best[v], algbw, busbw, busbw / plainBus, exact, bestCpu[v], plainCpu / bestCpu[v]));
            }
        }
        return rows;
    }

    /// <summary>One fresh call on values whose quantized sum is known: every rank holds (rank + 1) / 8 everywhere.</summary>
    private static bool Check(Communicator comm, Action<float[]> call, float[] data, MaskedAllReduce masked)
    {
        Array.Fill(data, (comm.Rank + 1) / 8f);
        call(data);
        // (r + 1) / 8 is exact in any format with 3 or more fractional bits, so the sum is exact too.
        float expected = comm.Size * (comm.Size + 1) / 16f;
        long wrong = data.Count(x => x != expected);
        var total = new[] { wrong };
        comm.AllReduce<long>(total, ReduceOp.Sum);
        return total[0] == 0 && masked.Format.FractionalBits >= 3;
    }

    private static void Fill(float[] data, int rank)
    {
        for (int i = 0; i < data.Length; i++) data[i] = ((i * 7 + rank * 3) % 11 - 5) / 16f;
    }

    public static void Print(Communicator comm, List<MaskedRow> rows)
    {
        Console.WriteLine($"# masked ring AllReduce vs plain ring: {comm.TransportName}, {comm.Size} ranks, float sum, best round, slowest rank");
        Console.WriteLine($"# {"size",10} {"variant",-34} {"time(us)",12} {"algbw(GB/s)",12} {"busbw(GB/s)",12} {"x plain",8} {"exact",6} {"cpu(us)",10} {"cpu x plain",11}");
        foreach (var r in rows)
            Console.WriteLine($"  {FormatSize(r.Bytes),10} {r.Variant,-34} {r.Seconds * 1e6,12:F0} {r.AlgBw,12:F3} {r.BusBw,12:F3} {r.RatioToPlain,8:F2} {(r.Exact ? "yes" : "NO"),6} {r.CpuSeconds * 1e6,10:F0} {r.CpuRatioToPlain,11:F2}");
    }

    internal static string FormatSize(long bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : bytes >= 1024 ? $"{bytes >> 10} KiB" : $"{bytes} B";
}
