namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// Recursive halving must add in recursive doubling's order: the same bits for every rank count (powers of two and
/// not), count (empty chunks, uneven tails, many segments) and segment size, on floats whose sum depends on the order.
/// </summary>
public class RecursiveHalvingTests
{
    public static IEnumerable<object[]> Worlds() =>
        from ranks in new[] { 2, 3, 4, 5, 6, 7, 8, 16 }
        from count in new[] { 1, ranks - 1, ranks + 1, 1000, 100_003 }.Where(c => c > 0).Distinct()
        from segment in new int?[] { 64, null }
        select new object[] { ranks, count, segment! };

    [Theory]
    [MemberData(nameof(Worlds))]
    public void Gives_recursive_doublings_bits(int ranks, int count, int? segmentBytes)
    {
        float[][] inputs = Enumerable.Range(0, ranks).Select(r => OrderSensitive(count, seed: 17 * r + count)).ToArray();
        float[][] halving = Sum(inputs, AllReduceAlgorithm.RecursiveHalving, segmentBytes);
        float[][] doubling = Sum(inputs, AllReduceAlgorithm.RecursiveDoubling, segmentBytes);
        // A left-to-right sum differs, so matching recursive doubling is not an accident of the data.
        float[] ring = Sum(inputs, AllReduceAlgorithm.Ring, segmentBytes)[0];
        for (int r = 0; r < ranks; r++)
            Assert.True(doubling[0].AsSpan().SequenceEqual(halving[r]), $"rank {r} of {ranks}: recursive halving differs from recursive doubling at element {FirstDifference(doubling[0], halving[r])}");
        if (ranks >= 4 && count >= 1000)
            Assert.False(ring.AsSpan().SequenceEqual(halving[0]), "the ring's order gave the same bits; the data does not test the order");
    }

    [Fact]
    public void Equals_the_balanced_tree_over_the_ranks_written_out()
    {
        const int ranks = 8, count = 5000;
        float[][] inputs = Enumerable.Range(0, ranks).Select(r => OrderSensitive(count, seed: r)).ToArray();
        float[] result = Sum(inputs, AllReduceAlgorithm.RecursiveHalving, segmentBytes: 1024)[3];
        for (int i = 0; i < count; i++)
        {
            float Pair(int a) => inputs[a][i] + inputs[a + 1][i];
            float expected = (Pair(0) + Pair(2)) + (Pair(4) + Pair(6));
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(result[i]), $"element {i}: {result[i]} where the tree gives {expected}");
        }
    }

    [Theory]
    [InlineData(ReduceOp.Max)]
    [InlineData(ReduceOp.Average)]
    public void Other_operators_and_doubles_reduce_correctly(ReduceOp op)
    {
        const int ranks = 6, count = 10_001;
        var results = World.Run(ranks, comm =>
        {
            var data = Enumerable.Range(0, count).Select(i => (double)((i * 7 + comm.Rank * 13) % 101)).ToArray();
            comm.AllReduce<double>(data, op, new CollectiveOptions { Algorithm = AllReduceAlgorithm.RecursiveHalving, SegmentBytes = 4096 });
            return data;
        });
        for (int i = 0; i < count; i++)
        {
            var column = Enumerable.Range(0, ranks).Select(r => (double)((i * 7 + r * 13) % 101)).ToArray();
            double expected = op == ReduceOp.Max ? column.Max() : column.Sum() / ranks;
            foreach (var result in results) Assert.Equal(expected, result[i], 12);
        }
    }

    [Fact]
    public void A_rank_that_passes_another_count_is_named()
    {
        var error = Assert.ThrowsAny<Exception>(() => World.Run(4, comm =>
        {
            var data = new float[comm.Rank == 2 ? 1001 : 1000];
            comm.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.RecursiveHalving });
        }));
        Assert.Contains("rank", error.ToString());
        Assert.Contains("1001", error.ToString());
    }

    private static float[][] Sum(float[][] inputs, AllReduceAlgorithm algorithm, int? segmentBytes) => World.Run(inputs.Length, comm =>
    {
        var data = (float[])inputs[comm.Rank].Clone();
        comm.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = algorithm, SegmentBytes = segmentBytes });
        return data;
    });

    /// <summary>Values over many magnitudes with both signs, so that float sums in different orders differ in the last bits.</summary>
    private static float[] OrderSensitive(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-20, 20)))).ToArray();
    }

    private static int FirstDifference(float[] a, float[] b)
    {
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) return i;
        return -1;
    }
}
