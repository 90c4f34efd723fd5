using System.Diagnostics;
using System.Numerics;
using AllReduceNet.Collectives;

namespace AllReduceNet.Perf;

/// <summary>What one sweep runs: sizes, algorithms, repetitions. The same on every rank.</summary>
public sealed record SweepPlan(
    IReadOnlyList<long> Sizes, IReadOnlyList<AllReduceAlgorithm> Algorithms, ReduceOp Op,
    int Iterations, bool MoreForSmallMessages, int Warmup, bool Check, bool Memcpy, bool Reproducible = false, bool Interleave = false)
{
    /// <summary>Each algorithm, then (with --reproducible) each again with <see cref="CollectiveOptions.Reproducible"/>, named "ALGORITHM+repro".</summary>
    public IEnumerable<(CollectiveOptions Options, string Name)> Variants()
    {
        foreach (var algorithm in Algorithms) yield return (new CollectiveOptions { Algorithm = algorithm }, algorithm.ToString().ToLowerInvariant());
        if (!Reproducible) yield break;
        foreach (var algorithm in Algorithms)
            yield return (new CollectiveOptions { Algorithm = algorithm, Reproducible = true }, algorithm.ToString().ToLowerInvariant() + "+repro");
    }
}

/// <summary>
/// The nccl-tests loop, run by every rank: for each size and algorithm, warm up, time the iterations between two
/// barriers, take the slowest rank's time, then check one fresh run against the expected values (#wrong, summed over
/// ranks). Rank 0 collects the rows.
/// </summary>
public static class Sweep
{
    public static List<ResultRow> Run<T>(Communicator comm, SweepPlan plan) where T : unmanaged, INumber<T>
    {
        var rows = new List<ResultRow>();
        int elementSize = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        long maxCount = plan.Sizes.Max() / elementSize;
        var buffer = GC.AllocateUninitializedArray<T>((int)maxCount, pinned: true);
        var slowest = new double[1];
        var wrong = new long[1];
        // One warm-up pass over every algorithm first, so the first size does not pay for first calls (thread
        // start-up, pools filling, first touches of the buffer).
        foreach (var (options, _) in plan.Variants())
        {
            var warm = buffer.AsSpan(0, (int)Math.Min(maxCount, 1024));
            for (int i = 0; i < 10; i++) comm.AllReduce(warm, plan.Op, options);
        }
        foreach (long bytes in plan.Sizes)
        {
            int count = (int)(bytes / elementSize);
            var data = buffer.AsSpan(0, count);
            int iterations = plan.Iterations;
            // By default small messages repeat until about 64 MiB moved (at most 2000 times): 20 calls of a
            // microsecond are one scheduler hiccup away from a wrong figure. Large ones stop at 4 GiB moved.
            if (plan.MoreForSmallMessages) iterations = (int)Math.Max(iterations, Math.Min(2000, (64L << 20) / Math.Max(bytes, 1)));
            iterations = Math.Max(3, (int)Math.Min(iterations, (4L << 30) / Math.Max(bytes, 1)));
            int warmup = bytes >= 64 << 20 ? Math.Min(plan.Warmup, 1) : plan.Warmup;
            double memcpy = 0;
            if (plan.Memcpy)
            {
                comm.Barrier();
                if (comm.Rank == 0) memcpy = MemcpyBandwidth.Measure(count * (long)elementSize, iterations);
                comm.Barrier();
            }
            var variants = plan.Variants().ToList();
            double[]? interleaved = null;
            if (plan.Interleave)
            {
                data.Fill(T.One);
                foreach (var (options, _) in variants)
                    for (int i = 0; i < warmup; i++) comm.AllReduce(data, plan.Op, options);
                interleaved = InterleavedTiming.Measure(comm, data, plan.Op, variants.Select(v => v.Options).ToList(), iterations);
            }
            for (int variant = 0; variant < variants.Count; variant++)
            {
                var (options, name) = variants[variant];
                double seconds;
                if (interleaved is not null) seconds = interleaved[variant];
                else
                {
                    data.Fill(T.One);
                    for (int i = 0; i < warmup; i++) comm.AllReduce(data, plan.Op, options);
                    comm.Barrier();
                    var watch = Stopwatch.StartNew();
                    for (int i = 0; i < iterations; i++) comm.AllReduce(data, plan.Op, options);
                    slowest[0] = watch.Elapsed.TotalSeconds / iterations;
                    comm.AllReduce<double>(slowest, ReduceOp.Max, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Tree });
                    seconds = slowest[0];
                }

                wrong[0] = plan.Check ? CountWrong(comm, data, plan.Op, options) : 0;
                if (plan.Check) comm.AllReduce<long>(wrong, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Tree });
                double algbw = count == 0 ? 0 : bytes / seconds / 1e9;
                double busbw = algbw * 2 * (comm.Size - 1) / comm.Size;
                rows.Add(new ResultRow(comm.TransportName, comm.Size, count * (long)elementSize, count, TypeName<T>(), plan.Op.ToString().ToLowerInvariant(),
                    name, seconds * 1e6, algbw, busbw, wrong[0], memcpy));
            }
        }
        return rows;
    }

    /// <summary>
    /// Fills small whole numbers that depend on rank and index (exact in every type, Half included), reduces once,
    /// and counts the elements that differ from the value computed locally for all ranks.
    /// </summary>
    private static long CountWrong<T>(Communicator comm, Span<T> data, ReduceOp op, CollectiveOptions options) where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < data.Length; i++) data[i] = Value<T>(comm.Rank, i, op);
        comm.AllReduce(data, op, options);
        long wrong = 0;
        for (int i = 0; i < data.Length; i++)
        {
            T expected = Value<T>(0, i, op);
            for (int r = 1; r < comm.Size; r++)
            {
                T v = Value<T>(r, i, op);
                expected = op switch
                {
                    ReduceOp.Prod => expected * v,
                    ReduceOp.Min => T.Min(expected, v),
                    ReduceOp.Max => T.Max(expected, v),
                    _ => expected + v,
                };
            }
            if (op == ReduceOp.Average) expected /= T.CreateChecked(comm.Size);
            if (!expected.Equals(data[i])) wrong++;
        }
        return wrong;
    }

    private static T Value<T>(int rank, int i, ReduceOp op) where T : INumber<T> =>
        op == ReduceOp.Prod ? ((i + rank) % 5 == 0 ? -T.One : T.One) : T.CreateChecked((i * 7 + rank * 3) % 11 - 5);

    private static string TypeName<T>() => typeof(T).Name switch
    {
        "Single" => "float",
        "Double" => "double",
        "Int32" => "int",
        "Int64" => "long",
        _ => "half",
    };
}
