using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Collectives.Transports.Mpi;
using AllReduceNet.Privacy;

// MaskedAllReducePerf: the masked ring AllReduce (all-pairs masks fused into the ring, the same unfused as passes
// around the integer ring, and ring-neighbour masks) against the plain float ring AllReduce of the same bytes, in the same run, in-process (--ranks N) or under mpiexec (one rank per process).
//   --ranks N        in-process ranks (ignored under mpiexec); default 2
//   --sizes LIST     message sizes in MiB, comma-separated; default 1,16,64
//   --iters N        timed calls per variant and round; default 10 (at most 3 at 64 MiB and up)
//   --rounds N       rounds, each timing every variant once in turn; the best round of each variant counts; default 3
//   --neighbours K   the neighbour variant's K; default 1 (0 leaves it out)
//   --segment-bytes B  segment size of the masked rings (the plain ring keeps its transport's default); default: the masked ring's
//   --interleave     also time plain and masked rings call by call in turn (a barrier before each call, the slowest rank's
//                    time) and print each one's median call and the ratio of medians: the figure that holds on a shared machine
//   --calls N        calls per variant and size under --interleave; default 21
// Then times the mask generators alone (ChaCha8, Philox) and prints the ratio they allow at each size: the bound.
// Prints one row per size and variant: time per call (slowest rank), algbw, busbw = algbw x 2(N-1)/N, and the ratio
// of busbw to the plain ring's; exit 1 when a masked result differs from the plain quantized sum.
string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
int ranks = int.Parse(Option("--ranks") ?? "2");
long[] sizes = (Option("--sizes") ?? "1,16,64").Split(',').Select(s => long.Parse(s) << 20).ToArray();
int iters = int.Parse(Option("--iters") ?? "10"), rounds = int.Parse(Option("--rounds") ?? "3");
int neighbours = int.Parse(Option("--neighbours") ?? "1");
int? segmentBytes = Option("--segment-bytes") is string b ? int.Parse(b) : null;
bool interleave = args.Contains("--interleave");
int calls = int.Parse(Option("--calls") ?? "21");
if (calls < 1) { Console.Error.WriteLine($"--calls must be at least 1, but was {calls}."); return 2; }

if (MpiRuntime.IsLaunchedByMpiexec)
{
    var world = MpiRuntime.Initialize(MpiThreadLevel.Multiple);
    try
    {
        var rows = AllReduceNet.MaskedPerf.MaskedSweep.Run(world, sizes, iters, rounds, neighbours, segmentBytes);
        var interleaved = interleave ? AllReduceNet.MaskedPerf.InterleavedMaskedTiming.Run(world, sizes, calls, neighbours, segmentBytes) : null;
        var rate = AllReduceNet.MaskedPerf.GeneratorRate.Measure(world, 16 << 20, rounds);
        if (world.Rank == 0) AllReduceNet.MaskedPerf.MaskedSweep.Print(world, rows);
        if (world.Rank == 0 && interleaved is not null) AllReduceNet.MaskedPerf.InterleavedMaskedTiming.Print(world, interleaved);
        if (world.Rank == 0) AllReduceNet.MaskedPerf.GeneratorRate.Print(world, rate, rows);
        world.Barrier();
        return rows.Any(r => !r.Exact) ? 1 : 0;
    }
    catch (Exception e)
    {
        MpiRuntime.Abort(1, $"MaskedAllReducePerf failed: {e.GetType().Name}: {e.Message}");
        return 1;
    }
    finally { MpiRuntime.Finalize(); }
}
var perRank = InProcessWorld.Run(ranks, comm =>
{
    var rows = AllReduceNet.MaskedPerf.MaskedSweep.Run(comm, sizes, iters, rounds, neighbours, segmentBytes);
    var interleaved = interleave ? AllReduceNet.MaskedPerf.InterleavedMaskedTiming.Run(comm, sizes, calls, neighbours, segmentBytes) : null;
    var rate = AllReduceNet.MaskedPerf.GeneratorRate.Measure(comm, 16 << 20, rounds);
    if (comm.Rank == 0) AllReduceNet.MaskedPerf.MaskedSweep.Print(comm, rows);
    if (comm.Rank == 0 && interleaved is not null) AllReduceNet.MaskedPerf.InterleavedMaskedTiming.Print(comm, interleaved);
    if (comm.Rank == 0) AllReduceNet.MaskedPerf.GeneratorRate.Print(comm, rate, rows);
    return rows;
});
return perRank[0].Any(r => !r.Exact) ? 1 : 0;
