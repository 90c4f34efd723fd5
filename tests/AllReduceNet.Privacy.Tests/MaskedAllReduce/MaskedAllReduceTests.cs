using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using Masked = AllReduceNet.Privacy.MaskedAllReduce;

namespace AllReduceNet.Privacy.Tests.MaskedRing;

public class MaskedAllReduceTests
{
    private static readonly InProcessWorldOptions World = new() { Timeout = TimeSpan.FromSeconds(60) };

    public static TheoryData<int> RankCounts => new(Enumerable.Range(2, 15));

    /// <summary>Each rank's vector after the masked sum, for every count in turn, with a fresh world per call list.</summary>
    private static float[][][] RunSums(int ranks, int[] counts, MaskedAllReduceOptions options, CollectiveOptions? collective = null) =>
        InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            var results = new float[counts.Length][];
            for (int c = 0; c < counts.Length; c++)
            {
                var data = MaskedReference.Input(comm.Rank, counts[c], options.ClipRange, seed: c);
                masked.Sum(data, collective);
                results[c] = data;
            }
            return results;
        }, World);

    private static void AssertExact(int ranks, int[] counts, float[][][] perRank, float clip, int bits, string what)
    {
        for (int c = 0; c < counts.Length; c++)
        {
            var inputs = Enumerable.Range(0, ranks).Select(r => MaskedReference.Input(r, counts[c], clip, seed: c)).ToArray();
            var expected = MaskedReference.QuantizedSum(inputs, clip, bits);
            for (int r = 0; r < ranks; r++)
            {
                int at = MaskedReference.FirstDifference(expected, perRank[r][c]);
                Assert.True(at < 0, $"{what}, {ranks} ranks, count {counts[c]}: rank {r} has {(at < 0 ? 0 : perRank[r][c][at])} at [{at}], the plain quantized sum is {(at < 0 ? 0 : expected[at])}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(RankCounts))]
    public void Sum_EqualsThePlainQuantizedSumExactly_On2To16Ranks(int ranks)
    {
        int[] counts = [0, 1, 3, ranks - 1, ranks + 1, 1000 * ranks + 37, 70_001];
        var options = new MaskedAllReduceOptions { ClipRange = 2f };
        int bits = FinestBits(2f, ranks);
        AssertExact(ranks, counts, RunSums(ranks, counts, options), 2f, bits, "auto algorithm");
    }

    [Theory]
    [InlineData(AllReduceAlgorithm.Ring, 3)]
    [InlineData(AllReduceAlgorithm.Ring, 8)]
    [InlineData(AllReduceAlgorithm.Tree, 5)]
    [InlineData(AllReduceAlgorithm.RecursiveDoubling, 6)]
    [InlineData(AllReduceAlgorithm.Direct, 7)]
    public void Sum_IsExactOnEveryAlgorithm(AllReduceAlgorithm algorithm, int ranks)
    {
        int[] counts = [1, 5, 4099, 1 << 20];
        var options = new MaskedAllReduceOptions { ClipRange = 0.5f, FractionalBits = 20 };
        var collective = new CollectiveOptions { Algorithm = algorithm, SegmentBytes = 16384 };
        AssertExact(ranks, counts, RunSums(ranks, counts, options, collective), 0.5f, 20, algorithm.ToString());
    }

    /// <summary>The masks wrap around 2^32 all the time; the library's int Sum must wrap too, never saturate or throw.</summary>
    [Theory]
    [InlineData(AllReduceAlgorithm.Ring)]
    [InlineData(AllReduceAlgorithm.Tree)]
    [InlineData(AllReduceAlgorithm.RecursiveDoubling)]
    [InlineData(AllReduceAlgorithm.Direct)]
    [InlineData(AllReduceAlgorithm.Auto)]
    public void IntegerSum_WrapsModulo2To32_OnEveryAlgorithm(AllReduceAlgorithm algorithm)
    {
        const int ranks = 5, count = 3001;
        int Value(int rank, int i) => int.MaxValue - rank * 977 - i;
        var results = InProcessWorld.Run(ranks, comm =>
        {
            var data = new int[count];
            for (int i = 0; i < count; i++) data[i] = Value(comm.Rank, i);
            comm.AllReduce<int>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = algorithm, SegmentBytes = 4096 });
            return data;
        }, World);
        for (int i = 0; i < count; i++)
        {
            long exact = 0;
            for (int r = 0; r < ranks; r++) exact += Value(r, i);
            for (int r = 0; r < ranks; r++) Assert.Equal(unchecked((int)exact), results[r][i]);
        }
    }

    [Theory]
    [InlineData(7, 1)]
    [InlineData(9, 2)]
    [InlineData(16, 3)]
    public void NeighbourMasks_SumIsExact(int ranks, int neighbours)
    {
        int[] counts = [1, 12_345];
        var options = new MaskedAllReduceOptions { ClipRange = 1f, Neighbours = neighbours };
        AssertExact(ranks, counts, RunSums(ranks, counts, options), 1f, FinestBits(1f, ranks), $"{neighbours} neighbours");
    }

    [Fact]
    public void SeveralThreadsPerRank_GiveTheSameBits()
    {
        int[] counts = [200_003];
        var options = new MaskedAllReduceOptions { ClipRange = 1f, MaxThreads = 3 };
        AssertExact(3, counts, RunSums(3, counts, options), 1f, FinestBits(1f, 3), "3 threads per rank");
    }

    [Fact]
    public void OneRank_IsQuantizationOnly()
    {
        int[] counts = [0, 1, 1001];
        AssertExact(1, counts, RunSums(1, counts, new MaskedAllReduceOptions { ClipRange = 1f }), 1f, 30, "one rank");
    }

    [Fact]
    public void Sum_IsWithinTheDocumentedErrorBoundOfTheFloatSum()
    {
        const int ranks = 6, count = 50_000;
        const float clip = 4f;
        var options = new MaskedAllReduceOptions { ClipRange = clip, FractionalBits = 12 };
        var results = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            var data = MaskedReference.Input(comm.Rank, count, clip);
            masked.Sum(data);
            return (data, masked.ErrorBound);
        }, World);
        double bound = results[0].ErrorBound;
        Assert.Equal(ranks / Math.Pow(2, 13), bound);
        var inputs = Enumerable.Range(0, ranks).Select(r => MaskedReference.Input(r, count, clip)).ToArray();
        for (int i = 0; i < count; i++)
        {
            double exact = 0;
            for (int r = 0; r < ranks; r++) exact += Math.Clamp(inputs[r][i], -clip, clip);
            double got = results[0].data[i];
            Assert.True(Math.Abs(got - exact) <= bound + Math.Abs(exact) * 6e-8, $"[{i}]: {got} vs {exact}, bound {bound}");
        }
    }

    [Fact]
    public void StartSum_OverlapsSeveralCalls_AndEqualsTheBlockingSum()
    {
        const int ranks = 4;
        int[] counts = [1000, 7, 30_001];
        var options = new MaskedAllReduceOptions { ClipRange = 2f };
        var started = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            var data = counts.Select((n, c) => MaskedReference.Input(comm.Rank, n, 2f, seed: c)).ToArray();
            var handles = data.Select(d => masked.StartSum(d)).ToArray();
            foreach (var h in handles.Reverse()) h.Wait();
            foreach (var h in handles) h.Wait(); // idempotent
            return data;
        }, World);
        AssertExact(ranks, counts, started, 2f, FinestBits(2f, ranks), "started");
    }

    /// <summary>
    /// What other ranks receive is rank r's masked vector and sums of masked vectors over proper subsets of the ranks:
    /// for a constant input (the worst case for a leak) each must look uniform over 32 bits, change from call to call,
    /// and only the sum over all ranks gives the quantized values back.
    /// </summary>
    [Theory]
    [InlineData(4, null)]
    [InlineData(6, 1)]
    public void WhatPeersSee_IsUniform_ForEveryProperSubset(int ranks, int? neighbours)
    {
        const int count = 1 << 16;
        var options = new MaskedAllReduceOptions { ClipRange = 1f, Neighbours = neighbours };
        var seen = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            var x = new float[count];
            x.AsSpan().Fill(0.25f);
            var first = new int[count];
            var second = new int[count];
            masked.QuantizeAndMask(x, first, call: 0);
            masked.QuantizeAndMask(x, second, call: 1);
            return (first, second, masked.Format);
        }, World);
        int plain = MaskedReference.Quantize(0.25f, 1f, seen[0].Format.FractionalBits);
        Assert.True(MaskedReference.ChiSquareOfTopByte(Enumerable.Repeat(plain, count).ToArray()) > 10_000, "the plain input itself must fail the uniformity test");
        for (int mask = 1; mask < (1 << ranks); mask++)
        {
            var partial = new int[count];
            int members = 0;
            for (int r = 0; r < ranks; r++)
            {
                if ((mask & (1 << r)) == 0) continue;
                members++;
                for (int i = 0; i < count; i++) partial[i] = unchecked(partial[i] + seen[r].first[i]);
            }
            if (members == ranks)
            {
                Assert.All(partial, v => Assert.Equal(ranks * plain, v));
                continue;
            }
            // With ring-neighbour masks only a contiguous arc of ranks has just two mask edges; every subset still has one.
            double chi = MaskedReference.ChiSquareOfTopByte(partial);
            Assert.True(chi < 400, $"{ranks} ranks, neighbours {neighbours?.ToString() ?? "all"}: the sum over ranks {{{string.Join(",", Enumerable.Range(0, ranks).Where(r => (mask & (1 << r)) != 0))}}} has chi-square {chi:F0} over 255 degrees of freedom: not uniform");
            Assert.DoesNotContain(partial.Take(64), v => v == members * plain);
        }
        for (int r = 0; r < ranks; r++) Assert.NotEqual(seen[r].first, seen[r].second);
    }

    [Theory]
    [InlineData(1f, 30, 4, "FractionalBits 30")]
    [InlineData(1f, 29, 4, "at most 28 fractional bits")]
    [InlineData(1e9f, null, 4, "even with 0 fractional bits")]
    [InlineData(0f, null, 2, "ClipRange must be finite and positive")]
    [InlineData(float.NaN, null, 2, "ClipRange must be finite and positive")]
    [InlineData(1f, 31, 2, "FractionalBits must be in 0..30")]
    public void SettingsThatCanOverflow_AreRefusedWithAMessage(float clip, int? bits, int ranks, string expected)
    {
        var error = Assert.Throws<RankFailedException>(() =>
            InProcessWorld.Run(ranks, comm => { Masked.Create(comm, new MaskedAllReduceOptions { ClipRange = clip, FractionalBits = bits }); }, World));
        var privacy = Assert.IsType<PrivacyException>(error.InnerException);
        Assert.Contains(expected, privacy.Message);
        if (bits is 29 or 30) Assert.Contains($"on {ranks} ranks", privacy.Message);
    }

    [Fact]
    public void TheFinestSafeFormat_IsTheBoundaryOfTheOverflowRule()
    {
        // 16 ranks x (1 x 2^26 + 1/2) < 2^31 but 16 x (2^27 + 1/2) > 2^31 - 1.
        var formats = InProcessWorld.Run(16, comm => Masked.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f }).Format, World);
        Assert.All(formats, f => Assert.Equal(26, f.FractionalBits));
        Assert.Throws<RankFailedException>(() =>
            InProcessWorld.Run(16, comm => { Masked.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f, FractionalBits = 27 }); }, World));
    }

    [Fact]
    public void DifferentOptionsOnDifferentRanks_AreNamed()
    {
        var error = Assert.Throws<RankFailedException>(() => InProcessWorld.Run(3, comm =>
        {
            Masked.Create(comm, new MaskedAllReduceOptions { ClipRange = comm.Rank == 2 ? 0.5f : 1f });
        }, World));
        var privacy = Assert.IsType<PrivacyException>(error.InnerException);
        Assert.Contains("rank 2 has ClipRange 0.5", privacy.Message);
    }

    [Theory]
    [InlineData(8, 1, new[] { 1, 7 })]
    [InlineData(8, 2, new[] { 1, 2, 6, 7 })]
    [InlineData(5, 2, new[] { 1, 2, 3, 4 })]
    [InlineData(3, null, new[] { 1, 2 })]
    public void Peers_AreSymmetricRingNeighbours(int size, int? k, int[] peersOfZero)
    {
        Assert.Equal(peersOfZero, Masked.PeersOf(0, size, k));
        for (int i = 0; i < size; i++)
        foreach (int j in Masked.PeersOf(i, size, k))
            Assert.Contains(i, Masked.PeersOf(j, size, k));
    }

    private static int FinestBits(float clip, int ranks) => MaskedFormat.FinestSafeBits(clip, ranks);
}
