namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// The reproducible AllReduce (<see cref="CollectiveOptions.Reproducible"/>) and <see cref="Communicator.ReproducibleSum{T}"/>:
/// bitwise the same result whatever the algorithm, segment size, order of the ranks and rank count, on inputs where a
/// float sum's bits depend on the order; NaN and infinities as IEEE addition.
/// </summary>
public class ReproducibleSumTests
{
    private static readonly AllReduceAlgorithm[] Algorithms =
        [AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.Direct, AllReduceAlgorithm.Auto];

    /// <summary>Values over 40 binary orders of magnitude with both signs, some blocks tiny, some huge: float sums of these depend on the order.</summary>
    private static float[] Addend(int index, int length)
    {
        var random = new Random(1234 + index);
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            int block = i / 256;
            int exponent = block % 3 == 0 ? random.Next(-20, 21) : block % 3 == 1 ? random.Next(-140, -120) : random.Next(90, 120);
            values[i] = (float)((random.NextDouble() - 0.5) * Math.ScaleB(1.0, exponent));
        }
        return values;
    }

    private static float[] ReproducibleAllReduce(Communicator comm, float[] mine, AllReduceAlgorithm algorithm, int? segmentBytes = null)
    {
        var data = (float[])mine.Clone();
        comm.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Reproducible = true, Algorithm = algorithm, SegmentBytes = segmentBytes });
        return data;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(16)]
    public void EveryAlgorithmSegmentSizeAndRankOrderGivesTheSameBits(int ranks)
    {
        const int length = 1000; // four blocks, the last one partial
        var addends = Enumerable.Range(0, ranks).Select(r => Addend(r, length)).ToArray();
        var results = World.Run(ranks, comm =>
        {
            var runs = new List<float[]>();
            foreach (var algorithm in Algorithms) runs.Add(ReproducibleAllReduce(comm, addends[comm.Rank], algorithm));
            runs.Add(ReproducibleAllReduce(comm, addends[comm.Rank], AllReduceAlgorithm.Ring, segmentBytes: 64));
            // The ranks in reverse order: another summation order for every algorithm.
            runs.Add(ReproducibleAllReduce(comm, addends[comm.Size - 1 - comm.Rank], AllReduceAlgorithm.Ring));
            var started = (float[])addends[comm.Rank].Clone();
            comm.StartAllReduce<float>(started, ReduceOp.Sum, new CollectiveOptions { Reproducible = true }).Wait(TimeSpan.FromSeconds(20));
            runs.Add(started);
            return runs;
        });
        var expected = results[0][0];
        foreach (var rank in results)
            foreach (var run in rank)
                Assert.Equal(Bits(expected), Bits(run));
        // The documented precision: each addend is rounded to 2^(e - 49), 2^e the block's largest magnitude, then the
        // sum is rounded to float once (the double sum is near exact here: 16 addends of 24 bits over 40 binary orders).
        for (int i = 0; i < length; i++)
        {
            int start = i / 256 * 256, end = Math.Min(length, start + 256);
            double largest = addends.Max(a => a.AsSpan(start, end - start).ToArray().Max(v => Math.Abs((double)v)));
            double grid = Math.ScaleB(1.0, Math.ILogB(largest) - 49);
            double exact = addends.Sum(a => (double)a[i]);
            double bound = ranks * grid / 2 + Math.Abs(exact) * Math.ScaleB(1.0, -24) + float.Epsilon;
            Assert.True(Math.Abs(expected[i] - exact) <= bound, $"element {i}: {expected[i]} vs {exact}, bound {bound}");
        }
    }

    [Fact]
    public void TheSameAddendsSpreadOverOneToSixteenRanksGiveTheSameBits()
    {
        const int total = 16, length = 777;
        var addends = Enumerable.Range(0, total).Select(a => Addend(a, length)).ToArray();
        float[]? reference = null;
        foreach (int ranks in new[] { 1, 2, 4, 8, 16 })
        {
            int each = total / ranks;
            var results = World.Run(ranks, comm =>
            {
                var mine = addends.Skip(comm.Rank * each).Take(each).SelectMany(a => a).ToArray();
                var result = new float[length];
                comm.ReproducibleSum<float>(mine, each, result, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 4096 });
                return result;
            });
            reference ??= results[0];
            foreach (var result in results) Assert.Equal(Bits(reference), Bits(result));
        }
        // 16 ranks with one addend each through the AllReduce: the same bits again.
        var viaAllReduce = World.Run(total, comm => ReproducibleAllReduce(comm, addends[comm.Rank], AllReduceAlgorithm.Tree));
        Assert.Equal(Bits(reference!), Bits(viaAllReduce[0]));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(8)]
    public void TheFusedRingGivesTheUnfusedPathsBitsOnLongVectors(int ranks)
    {
        // Many blocks, a count that is no multiple of a block or a vector, blocks of subnormals and of zeros, and
        // segments of 1 to 8 blocks: the fused paths (Ring and Auto: the header-free exchange; the public sum: the
        // fused ring with its header) against the integer AllReduce of the tree and of direct, in place and out of place.
        const int length = 100_003;
        var addends = Enumerable.Range(0, ranks).Select(r =>
        {
            var values = Addend(r, length);
            for (int i = 2560; i < 2816; i++) values[i] = float.Epsilon * (i % 7) * (r % 2 == 0 ? 1 : -1);
            Array.Clear(values, 5120, 300);
            return values;
        }).ToArray();
        var results = World.Run(ranks, comm =>
        {
            var mine = addends[comm.Rank];
            var runs = new List<float[]>
            {
                ReproducibleAllReduce(comm, mine, AllReduceAlgorithm.Tree),
                ReproducibleAllReduce(comm, mine, AllReduceAlgorithm.Direct),
                ReproducibleAllReduce(comm, mine, AllReduceAlgorithm.Ring),
                ReproducibleAllReduce(comm, mine, AllReduceAlgorithm.Ring, segmentBytes: 2048),
                ReproducibleAllReduce(comm, mine, AllReduceAlgorithm.Ring, segmentBytes: 16384),
                ReproducibleAllReduce(comm, mine, AllReduceAlgorithm.Auto),
            };
            var outOfPlace = new float[length];
            comm.AllReduce<float>(mine, outOfPlace, ReduceOp.Sum, new CollectiveOptions { Reproducible = true, Algorithm = AllReduceAlgorithm.Ring });
            runs.Add(outOfPlace);
            var viaSum = new float[length];
            comm.ReproducibleSum<float>(mine, 1, viaSum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring });
            runs.Add(viaSum);
            return runs;
        });
        var expected = Bits(results[0][0]);
        for (int r = 0; r < ranks; r++)
            for (int run = 0; run < results[r].Count; run++)
                Assert.True(expected.SequenceEqual(Bits(results[r][run])), $"rank {r}, run {run} differs from the tree's bits");
        Assert.Equal(0f, results[0][0][5200]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void NonFiniteValuesInTheHeaderlessExchangeGiveTheHeaderPathsBits(int ranks)
    {
        // Two ranks' NaNs (of other payloads and signs), infinities of both signs, alone or meeting, in blocks with
        // finite neighbours of very different sizes: the exchange (Ring) takes each block's scale from its finite values
        // where all addends meet; the tree's path and the public sum's fused ring count non-finite values in a separate
        // AllReduce.
        const int length = 1300;
        var results = World.Run(ranks, comm =>
        {
            var random = new Random(7 + comm.Rank);
            var mine = Enumerable.Range(0, length).Select(i => (float)((random.NextDouble() - 0.5) * Math.ScaleB(1.0, random.Next(-30, 30)))).ToArray();
            if (comm.Rank == 0) { mine[3] = BitConverter.Int32BitsToSingle(0x7FC0_1234); mine[300] = float.PositiveInfinity; mine[301] = float.PositiveInfinity; mine[700] = float.NegativeInfinity; }
            else if (comm.Rank == 1) { mine[3] = 1e30f; mine[300] = float.NegativeInfinity; mine[301] = float.PositiveInfinity; mine[900] = BitConverter.Int32BitsToSingle(unchecked((int)0xFFC0_0001)); }
            mine[1299] = 3e38f; // two or more of these overflow to +infinity
            var viaSum = new float[length];
            comm.ReproducibleSum<float>(mine, 1, viaSum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 2048 });
            return new[] { ReproducibleAllReduce(comm, mine, AllReduceAlgorithm.Ring), ReproducibleAllReduce(comm, mine, AllReduceAlgorithm.Tree), viaSum };
        });
        foreach (var rank in results)
            foreach (var run in rank)
                Assert.Equal(Bits(results[0][1]), Bits(run));
        var sum = results[0][0];
        Assert.Equal(BitConverter.SingleToInt32Bits(float.NaN), BitConverter.SingleToInt32Bits(sum[3]));
        Assert.True(float.IsNaN(sum[300]));
        Assert.Equal(float.PositiveInfinity, sum[301]);
        Assert.Equal(float.NegativeInfinity, sum[700]);
        Assert.True(float.IsNaN(sum[900]));
        Assert.Equal(float.PositiveInfinity, sum[1299]);
        Assert.True(float.IsFinite(sum[302]) && float.IsFinite(sum[4]));
    }

    /// <summary>Runs one element per rank through the reproducible AllReduce with each algorithm; all must agree; returns the value.</summary>
    private static float SumOf(params float[] perRank)
    {
        var results = World.Run(perRank.Length, comm =>
            Algorithms.Select(a => ReproducibleAllReduce(comm, [perRank[comm.Rank], 0f], a)[0]).ToArray());
        var first = results[0][0];
        foreach (var rank in results)
            foreach (var value in rank)
                Assert.Equal(BitConverter.SingleToInt32Bits(first), BitConverter.SingleToInt32Bits(value));
        return first;
    }

    [Fact]
    public void CancellationIsExactWithinTheGridAndDocumentedBeyondIt()
    {
        // 2^33 apart: a float sum gives 0 or 1 by order; the fixed-point sum keeps the 1.
        Assert.Equal(1f, SumOf(1e10f, 1f, -1e10f));
        Assert.Equal(1f, SumOf(-1e10f, 1e10f, 1f));
        // 2^100 apart: beyond the 50 bits kept below the block's largest value, so the 1 is rounded away, in every order (docs/reproducible.md).
        Assert.Equal(0f, SumOf(1e30f, 1f, -1e30f));
        Assert.Equal(0f, SumOf(1f, -1e30f, 1e30f));
    }

    [Fact]
    public void SubnormalsAreSummedExactly()
    {
        Assert.Equal(6 * float.Epsilon, SumOf(float.Epsilon, 2 * float.Epsilon, 3 * float.Epsilon));
        Assert.Equal(float.Epsilon, SumOf(float.Epsilon, -float.Epsilon, float.Epsilon));
        // The smallest normal minus a subnormal: a subnormal result, exact.
        Assert.Equal(BitConverter.Int32BitsToSingle(0x007F_FFFF), SumOf(BitConverter.Int32BitsToSingle(0x0080_0000), -float.Epsilon));
    }

    [Fact]
    public void InfinitiesAndNaNFollowIeeeAdditionElementByElement()
    {
        Assert.Equal(float.PositiveInfinity, SumOf(float.PositiveInfinity, 1f, 2f));
        Assert.Equal(float.NegativeInfinity, SumOf(float.NegativeInfinity, float.NegativeInfinity));
        Assert.True(float.IsNaN(SumOf(float.PositiveInfinity, 1f, float.NegativeInfinity)));
        Assert.True(float.IsNaN(SumOf(float.NaN, 1f)));
        Assert.True(float.IsNaN(SumOf(float.NaN, float.PositiveInfinity)));
        // Overflow of a finite sum rounds to infinity, as the float sum does.
        Assert.Equal(float.PositiveInfinity, SumOf(float.MaxValue, float.MaxValue));
        // The neighbours of a non-finite element, in its block and in the next, are untouched.
        var results = World.Run(3, comm =>
        {
            var data = Enumerable.Range(0, 600).Select(i => (float)(i + comm.Rank)).ToArray();
            if (comm.Rank == 1) { data[10] = float.NaN; data[300] = float.NegativeInfinity; }
            comm.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Reproducible = true });
            return data;
        });
        for (int i = 0; i < 600; i++)
        {
            float expected = i == 10 ? float.NaN : i == 300 ? float.NegativeInfinity : 3 * i + 3;
            Assert.Equal(expected, results[2][i]);
        }
    }

    [Fact]
    public void DoublesAndAverageAreReproducibleToo()
    {
        var results = World.Run(5, comm =>
        {
            var random = new Random(comm.Rank);
            var mine = Enumerable.Range(0, 700).Select(i => (random.NextDouble() - 0.5) * Math.ScaleB(1.0, random.Next(-60, 60))).ToArray();
            // A block of subnormals only: for double the grid reaches 2^-1071 = 8 x double.Epsilon (docs/reproducible.md).
            for (int i = 256; i < 512; i++) mine[i] = 8 * double.Epsilon * (comm.Rank + 1);
            return Algorithms.Select(a =>
            {
                var data = (double[])mine.Clone();
                comm.AllReduce<double>(data, ReduceOp.Average, new CollectiveOptions { Reproducible = true, Algorithm = a });
                return data;
            }).ToArray();
        });
        foreach (var rank in results)
            foreach (var run in rank)
                Assert.Equal(results[0][0].Select(BitConverter.DoubleToInt64Bits), run.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(24 * double.Epsilon, results[0][0][300]); // 8 (1+2+3+4+5) eps / 5, exact
    }

    [Fact]
    public void RanksPassingDifferentAddendCountsAreTold()
    {
        var error = Assert.ThrowsAny<Exception>(() => World.Run(2, comm =>
        {
            int addends = comm.Rank + 1;
            comm.ReproducibleSum<float>(new float[addends * 10], addends, new float[10]);
        }));
        Assert.Contains("every rank must pass the same number", error.ToString());
    }

    [Fact]
    public void TheEnvironmentSwitchIsRead()
    {
        var settings = new EnvironmentSettings(name => name == "ALLREDUCENET_REPRODUCIBLE" ? "1" : null);
        Assert.True(settings.Reproducible);
        Assert.Throws<EnvironmentSettingException>(() => new EnvironmentSettings(name => name == "ALLREDUCENET_REPRODUCIBLE" ? "maybe" : null));
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}
