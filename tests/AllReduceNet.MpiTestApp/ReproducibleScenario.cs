using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// The reproducible sum on MPI processes: 16 addend vectors, spread evenly over the world, summed with
/// <see cref="Communicator.ReproducibleSum{T}"/> on every algorithm (MPI_Allreduce included) and two segment sizes,
/// must give bitwise what one rank alone gives for all 16 (computed on a communicator of this rank only), which is also
/// what the in-process tests compare against. Then the reproducible AllReduce of one vector per rank must agree across
/// algorithms. The world size must divide 16. Rank 0 prints a summary.
/// </summary>
internal sealed class ReproducibleScenario(Communicator world)
{
    private const int Addends = 16;
    private readonly Tally _tally = new(world.Rank);

    public int Run()
    {
        int size = world.Size;
        if (Addends % size != 0) MpiRuntime.Abort(2, $"the reproducible scenario needs a world size that divides {Addends}, not {size}");
        var algorithms = new[] { AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.Native, AllReduceAlgorithm.Auto };
        foreach (int count in new[] { 1, 255, 1000 * size + 37, 262_147 })
        {
            var all = Enumerable.Range(0, Addends).SelectMany(a => Addend(a, count)).ToArray();
            var reference = new float[count];
            using (var alone = world.Split(world.Rank, 0)!) alone.ReproducibleSum<float>(all, Addends, reference);
            int each = Addends / size;
            var mine = all.AsSpan(world.Rank * each * count, each * count).ToArray();
            foreach (var algorithm in algorithms)
            foreach (int segment in new[] { 4096, 1 << 20 })
            {
                var result = new float[count];
                world.ReproducibleSum<float>(mine, each, result, new CollectiveOptions { Algorithm = algorithm, SegmentBytes = segment });
                int wrong = Wrong(reference, result, out int first);
                _tally.Check(wrong == 0, $"reproducible sum of {Addends} x {count} ({algorithm}, segments of {segment} B) against one rank alone: {wrong} differ, first at [{first}]");
            }
            float[]? first0 = null;
            foreach (var algorithm in algorithms)
            {
                var data = Addend(world.Rank, count);
                world.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = algorithm, Reproducible = true, SegmentBytes = 8192 });
                first0 ??= data;
                int wrong = Wrong(first0, data, out int at);
                _tally.Check(wrong == 0, $"reproducible AllReduce of {count} floats, {algorithm} against {algorithms[0]}: {wrong} differ, first at [{at}]");
            }
        }

        long[] totals = [_tally.Failures, _tally.Checks];
        world.AllReduce<long>(totals, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Native });
        if (world.Rank == 0)
        {
            Console.WriteLine($"MPI REPRODUCIBLE transport='{world.TransportName}' ranks={size} checks={totals[1]} failures={totals[0]}");
            Console.WriteLine(totals[0] == 0 ? "MPI REPRODUCIBLE PASSED" : "MPI REPRODUCIBLE FAILED");
        }
        return (int)totals[0];
    }

    private static int Wrong(float[] expected, float[] actual, out int first)
    {
        int wrong = 0;
        first = -1;
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]) && wrong++ == 0) first = i;
        return wrong;
    }

    /// <summary>Addend <paramref name="index"/>: values over 60 binary orders of magnitude with both signs, a NaN and infinities in a few places.</summary>
    private static float[] Addend(int index, int count)
    {
        var random = new Random(77 + index);
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)((random.NextDouble() - 0.5) * Math.ScaleB(1.0, random.Next(-30, 30)));
        if (count > 300)
        {
            if (index == 3) x[100] = float.NaN;
            if (index == 5) x[200] = float.PositiveInfinity;
            if (index % 2 == 0) x[300] = float.NegativeInfinity;
        }
        return x;
    }
}
