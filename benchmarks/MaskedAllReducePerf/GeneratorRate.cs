using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.MaskedPerf;

/// <summary>
/// The bound of the masked ring: how many mask words a second one rank's generator gives while every rank generates
/// at once (in-process ranks share the cores as they do in the ring), over a 16 KiB tile that stays in L1, as the
/// ring's tiles do. Each rank must draw (peers x elements) words per call, so at a given plain-ring time this says
/// how fast the masked ring could be at best.
/// </summary>
public static class GeneratorRate
{
    private const int Tile = 4096;

    /// <summary>
    /// Words per second of ChaCha8 and Philox4x32-10 per rank, best of <paramref name="rounds"/>, interleaved: on the
    /// wall clock (slowest rank) and per CPU second (every rank's words over the CPU time the processes spent, which
    /// on a loaded machine is the steadier figure).
    /// </summary>
    public static GeneratorRates Measure(Communicator comm, long wordsPerRound, int rounds)
    {
        var tile = new int[Tile];
        var peers = new[] { new MaskPeer { Seed = new Seed128(0x243f6a88u, 0x85a308d3u, (uint)comm.Rank, 0x03707344u), Sign = 1 } };
        var rates = new GeneratorRates(0, 0, 0, 0);
        var state = new uint[16];
        ChaCha.MaskState(peers[0].Seed, 0, state);
        var words = new uint[ChaCha.BatchWords];
        var sign = System.Runtime.Intrinsics.Vector512<int>.Zero;
        double x1 = 0, x2 = 0, stored = 0;
        for (int round = 0; round < rounds; round++)
        {
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            {
                x1 = Math.Max(x1, Rate(comm, wordsPerRound, () => { for (int i = 0; i < Tile; i += 256) ChaChaBlocks.AddBatch512(state, 4, ref tile[i], sign); }).PerCpu);
                x2 = Math.Max(x2, Rate(comm, wordsPerRound, () => { for (int i = 0; i < Tile; i += 512) ChaChaBlocks.AddBatch512x2(state, 4, ref tile[i], sign); }).PerCpu);
                stored = Math.Max(stored, Rate(comm, wordsPerRound, () => { for (int i = 0; i < Tile; i += 256) ChaChaBlocks.Batch512(state, 4, words); }).PerCpu);
            }
            var (wall, cpu) = Rate(comm, wordsPerRound, () => ChaChaMasking.AddMasks(tile, 0, Tile, peers));
            rates = rates with { ChaCha8 = Math.Max(rates.ChaCha8, wall), ChaCha8PerCpu = Math.Max(rates.ChaCha8PerCpu, cpu) };
            (wall, cpu) = Rate(comm, wordsPerRound, () => PhiloxMasking.AddMasks(tile, 0, Tile, peers));
            rates = rates with { Philox = Math.Max(rates.Philox, wall), PhiloxPerCpu = Math.Max(rates.PhiloxPerCpu, cpu) };
        }
        if (comm.Rank == 0) Console.WriteLine($"# probe per CPU second: AddBatch512 {x1 / 1e9:F2}, AddBatch512x2 {x2 / 1e9:F2}, Batch512 stored {stored / 1e9:F2} G words");
        return rates;
    }

    private static (double Wall, double PerCpu) Rate(Communicator comm, long words, Action addTile)
    {
        bool inProcess = comm.TransportName.StartsWith("in-process", StringComparison.Ordinal);
        addTile();
        // Read before the barrier: once it releases, ranks that run first would generate before rank 0's reading.
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        comm.Barrier();
        var watch = Stopwatch.StartNew();
        for (long done = 0; done < words; done += Tile) addTile();
        var seconds = new[] { watch.Elapsed.TotalSeconds };
        comm.Barrier();
        // In-process the process's CPU time covers every rank's thread: count it once (rank 0's reading).
        var cpu = new[] { comm.Rank == 0 || !inProcess ? (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds : 0 };
        comm.AllReduce<double>(seconds, ReduceOp.Max);
        comm.AllReduce<double>(cpu, ReduceOp.Sum);
        return (words / seconds[0], words * comm.Size / cpu[0]);
    }

    /// <summary>
    /// Prints the rates and, per size, the masked ring's best ratio to the plain ring that they allow: for the all-pairs
    /// ring (N - 1 mask words per element and rank) and, where the run has a '2/N' row (<see cref="MaskedSweep.NeighbourLabel"/>),
    /// for that ring too (2/N words: each chunk only its owner pair's mask).
    /// </summary>
    public static void Print(Communicator comm, GeneratorRates rate, List<MaskedRow> rows)
    {
        int peers = comm.Size - 1;
        // The fused ring leaves out the masks of path neighbours from 3 ranks on (RingMaskPlan): (N - 1)(N - 2)/N words with all pairs.
        double allPairsWords = comm.Size >= 3 ? (double)peers * (comm.Size - 2) / comm.Size : peers;
        bool ownerPairRows = rows.Any(r => r.Variant.EndsWith(", 2/N", StringComparison.Ordinal));
        Console.WriteLine($"# mask generators, every rank at once, slowest rank: ChaCha8 {rate.ChaCha8 / 1e9:F2} G words/s, Philox4x32-10 {rate.Philox / 1e9:F2} G words/s per rank");
        Console.WriteLine($"# per CPU second: ChaCha8 {rate.ChaCha8PerCpu / 1e9:F2} G words, Philox4x32-10 {rate.PhiloxPerCpu / 1e9:F2} G words (ratio {rate.ChaCha8PerCpu / rate.PhiloxPerCpu:F2})");
        Console.WriteLine($"# bound: the all-pairs ring draws {allPairsWords:0.##} word(s) per element per rank{(ownerPairRows ? $", the '2/N' ring {2.0 / comm.Size:F2}" : "")}; 'overlapped' = plain / max(plain, masking), 'serial' = plain / (plain + masking)");
        Console.WriteLine($"# {"size",10} {"plain(us)",10} {"chacha8 mask(us)",17} {"overlapped",10} {"serial",7} {"philox mask(us)",16} {"overlapped",10} {"serial",7}{(ownerPairRows ? $" {"2/N chacha8(us)",16} {"overlapped",10} {"serial",7}" : "")}");
        foreach (var plain in rows.Where(r => r.Variant == "plain ring"))
        {
            double elements = (double)plain.Bytes / sizeof(float), words = allPairsWords * elements;
            double c = words / rate.ChaCha8, p = words / rate.Philox, o = 2.0 / comm.Size * elements / rate.ChaCha8, t = plain.Seconds;
            string owner = ownerPairRows ? $" {o * 1e6,16:F0} {t / Math.Max(t, o),10:F2} {t / (t + o),7:F2}" : "";
            Console.WriteLine($"  {plain.Bytes >> 20,6} MiB {t * 1e6,10:F0} {c * 1e6,17:F0} {t / Math.Max(t, c),10:F2} {t / (t + c),7:F2} {p * 1e6,16:F0} {t / Math.Max(t, p),10:F2} {t / (t + p),7:F2}{owner}");
        }
    }
}

/// <summary>Mask words a second per rank: on the wall clock and per CPU second.</summary>
public sealed record GeneratorRates(double ChaCha8, double Philox, double ChaCha8PerCpu, double PhiloxPerCpu);
