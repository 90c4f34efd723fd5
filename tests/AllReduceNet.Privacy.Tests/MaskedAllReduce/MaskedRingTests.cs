using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Collectives.Transports.InProcess;
using Masked = AllReduceNet.Privacy.MaskedAllReduce;

namespace AllReduceNet.Privacy.Tests.MaskedRing;

/// <summary>
/// The fused masked ring (<see cref="Privacy.MaskedRing"/>: masking inside the ring, segment by segment): exact
/// against the plain quantized sum with many segments in flight and ragged chunks, bitwise equal to the unfused
/// path, and what a rank sends during reduce-scatter is masked.
/// </summary>
public class MaskedRingTests
{
    private static readonly InProcessWorldOptions World = new() { Timeout = TimeSpan.FromSeconds(60) };

    public static TheoryData<int> RankCounts => new(Enumerable.Range(2, 15));

    /// <summary>Segments of 64 elements: every call runs many (step, segment) items, two receives ahead, with chunks that end mid-segment; in-process every received segment is a loan.</summary>
    [Theory]
    [MemberData(nameof(RankCounts))]
    public void ManySegments_EqualThePlainQuantizedSumExactly(int ranks)
    {
        int[] counts = [0, 1, 17, 16 * ranks - 1, 16 * ranks + 1, 4099, 50_003];
        var options = new MaskedAllReduceOptions { ClipRange = 1.5f };
        var collective = new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 256 };
        int bits = MaskedFormat.FinestSafeBits(1.5f, ranks);
        var results = InProcessWorld.Run(ranks, comm =>
        {
            // In-process the ring reads the neighbour's masked segments from loans of its send buffers (tiny ones staged
            // eagerly, the rest the sender's own memory): this test runs that path at every segment boundary.
            var masked = Masked.Create(comm, options);
            return counts.Select((count, c) =>
            {
                var data = MaskedReference.Input(comm.Rank, count, 1.5f, seed: c);
                masked.Sum(data, collective);
                return data;
            }).ToArray();
        }, World);
        for (int c = 0; c < counts.Length; c++)
        {
            var expected = MaskedReference.QuantizedSum(Enumerable.Range(0, ranks).Select(r => MaskedReference.Input(r, counts[c], 1.5f, seed: c)).ToArray(), 1.5f, bits);
            for (int r = 0; r < ranks; r++)
            {
                int at = MaskedReference.FirstDifference(expected, results[r][c]);
                Assert.True(at < 0, $"{ranks} ranks, count {counts[c]}: rank {r} has {(at < 0 ? 0 : results[r][c][at])} at [{at}], the plain quantized sum is {(at < 0 ? 0 : expected[at])}");
            }
        }
    }

    /// <summary>
    /// Default segments on vectors from <see cref="Privacy.MaskedRing.PrefetchFromBytes"/> up, where each tile prefetches
    /// the next while its masks are made, in pieces that end on 512-element marks of the vector: the ragged chunk
    /// starts (multiples of 16 only) cut the first and last piece of a tile and the segments end mid-tile. Exact
    /// against the plain quantized sum on 2, 3, 4, 7 and 16 ranks (16 MiB a rank: every count from 2 to 16 ran the suite
    /// 25 s longer, and the counts between add no boundary case the ragged starts do not already make).
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(16)]
    public void LargeVectors_PrefetchingTiles_EqualThePlainQuantizedSumExactly(int ranks)
    {
        int count = (int)(Privacy.MaskedRing.PrefetchFromBytes / sizeof(float)) + 16 * ranks + 5;
        AssertFusedRingIsExact(ranks, count, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring });
    }

    private static void AssertFusedRingIsExact(int ranks, int count, CollectiveOptions collective)
    {
        var options = new MaskedAllReduceOptions { ClipRange = 1f };
        int bits = MaskedFormat.FinestSafeBits(1f, ranks);
        var results = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            var data = MaskedReference.Input(comm.Rank, count, 1f, seed: 3);
            masked.Sum(data, collective);
            return data;
        }, World);
        var expected = MaskedReference.QuantizedSum(Enumerable.Range(0, ranks).Select(r => MaskedReference.Input(r, count, 1f, seed: 3)).ToArray(), 1f, bits);
        for (int r = 0; r < ranks; r++)
        {
            int at = MaskedReference.FirstDifference(expected, results[r]);
            Assert.True(at < 0, $"{ranks} ranks, count {count}: rank {r} has {(at < 0 ? 0 : results[r][at])} at [{at}], the plain quantized sum is {(at < 0 ? 0 : expected[at])}");
        }
    }

    /// <summary>The fused ring and the unfused path (quantize and mask, integer tree, dequantize) give the same bits, call after call.</summary>
    [Theory]
    [InlineData(2, null)]
    [InlineData(3, null)]
    [InlineData(7, 1)]
    public void FusedRing_GivesTheSameBitsAsTheUnfusedPath(int ranks, int? neighbours)
    {
        const int count = 30_011;
        var options = new MaskedAllReduceOptions { ClipRange = 1f, Neighbours = neighbours };
        var results = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            var fused = MaskedReference.Input(comm.Rank, count, 1f, seed: 1);
            var unfused = (float[])fused.Clone();
            masked.Sum(fused, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 4096 });
            masked.Sum(unfused, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Tree });
            return (fused, unfused);
        }, World);
        foreach (var (fused, unfused) in results)
            Assert.Equal(-1, MaskedReference.FirstDifference(unfused, fused));
    }

    /// <summary>
    /// Every segment a rank sends during reduce-scatter, for a constant input (the worst case), is uniform on the top
    /// byte and never the plain quantized value times the number of ranks it could hold.
    /// </summary>
    /// <remarks>
    /// The large case runs the default segments on a vector past <see cref="Privacy.MaskedRing.PrefetchFromBytes"/>
    /// (tiles masked in prefetching pieces; chunk 1 starts off a 512-element mark): a piece left unmasked would cancel
    /// in the sum on both ends of the pair, so only this test, not the exact sums, would catch it.
    /// </remarks>
    [Theory]
    [InlineData(2, 1 << 17, 8192)]
    [InlineData(4, 1 << 17, 8192)]
    [InlineData(2, (1 << 22) + 96, 0)]
    public void WhatARankSends_IsMasked(int ranks, int count, int segmentBytes)
    {
        var options = new MaskedAllReduceOptions { ClipRange = 1f };
        var sent = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            var words = new List<int>();
            var data = new float[count];
            data.AsSpan().Fill(0.25f);
            masked.SumObservingSends(data, new CollectiveOptions { SegmentBytes = segmentBytes > 0 ? segmentBytes : null }, (_, _, segment) => words.AddRange(segment.ToArray()));
            return (Words: words.ToArray(), masked.Format, Sum: data[0]);
        }, World);
        int plain = MaskedReference.Quantize(0.25f, 1f, sent[0].Format.FractionalBits);
        for (int r = 0; r < ranks; r++)
        {
            var words = sent[r].Words;
            Assert.Equal((ranks - 1) * (count / ranks), words.Length);
            double chi = MaskedReference.ChiSquareOfTopByte(words);
            Assert.True(chi < 400, $"rank {r} of {ranks}: what it sent has chi-square {chi:F0} on the top byte over 255 degrees of freedom: not uniform");
            for (int members = 1; members < ranks; members++)
                Assert.DoesNotContain(words.Take(256), w => w == members * plain);
            Assert.Equal(ranks * 0.25f, sent[r].Sum);
        }
    }

    /// <summary>
    /// The threat model from the receiver's side: what a rank receives during reduce-scatter, with the masks it knows
    /// (those of its own pairs) removed in every combination of signs, is still uniform for a constant input, and never
    /// the plain partial sum. The one exception is a chunk owner's last receive, the sum over all other ranks, which
    /// the total tells it anyway. Run where path neighbours add no masks (<see cref="Privacy.RingMaskPlan"/>: all pairs
    /// on 3 and 4 ranks, Neighbours 1 from 4, where one mask per chunk is left) and on full masking (Neighbours 2 on 7).
    /// A mask the receiver could strip would still look uniform to the sender-side test above; only this one catches it.
    /// </summary>
    [Theory]
    [InlineData(3, null, true)]
    [InlineData(4, 1, true)]
    [InlineData(5, 1, true)]
    [InlineData(8, 1, true)]
    [InlineData(4, null, true)]
    [InlineData(7, 2, false)]
    public void WhatARankReceives_StaysMasked_AfterRemovingEveryMaskItKnows(int ranks, int? neighbours, bool skipsPathNeighbours)
    {
        const int count = 1 << 15;
        var options = new MaskedAllReduceOptions { ClipRange = 1f, Neighbours = neighbours };
        var runs = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            var known = masked.PeersForCall(0);
            bool plan = masked.RingMasksForCall(0).SkipsPathNeighbours;
            var received = new List<(int Step, int Start, int[] Words)>();
            var data = new float[count];
            data.AsSpan().Fill(0.25f);
            masked.SumObservingSends(data, new CollectiveOptions { SegmentBytes = 4096 }, (step, start, segment) => received.Add((step, start, segment.ToArray())));
            return (Known: known, SkipsPathNeighbours: plan, Sent: received, masked.Format, Sum: data[0]);
        }, World);
        int plain = MaskedReference.Quantize(0.25f, 1f, runs[0].Format.FractionalBits);
        for (int sender = 0; sender < ranks; sender++)
        {
            Assert.Equal(skipsPathNeighbours, runs[sender].SkipsPathNeighbours);
            Assert.Equal(ranks * 0.25f, runs[sender].Sum);
            int receiver = (sender + 1) % ranks;
            // What the receiver is left with per way of stripping its masks, over all the segments it received.
            var left = new Dictionary<int, List<int>>();
            foreach (var (step, start, words) in runs[sender].Sent)
            {
                if (step == ranks - 2) continue;   // the owner's last receive: the sum over all other ranks
                foreach (var (combination, stripped) in EveryStrip(words, start, runs[receiver].Known.Select(k => k.Seed).ToArray()))
                {
                    if (!left.TryGetValue(combination, out var strippedWords)) left[combination] = strippedWords = [];
                    strippedWords.AddRange(stripped);
                    for (int members = 1; members < ranks - 1; members++)
                        Assert.False(stripped.Take(64).All(w => w == members * plain),
                            $"{ranks} ranks: rank {receiver} strips its masks {combination} from step {step} at [{start}] and finds the plain sum of {members} ranks");
                }
            }
            Assert.NotEmpty(left);
            foreach (var (combination, strippedWords) in left)
            {
                double chi = MaskedReference.ChiSquareOfTopByte(strippedWords.ToArray());
                Assert.True(chi < 400, $"{ranks} ranks, neighbours {neighbours?.ToString() ?? "all"}: what rank {receiver} received from rank {sender}, with its masks stripped in combination {combination}, has chi-square {chi:F0} on the top byte over 255 degrees of freedom: not uniform");
            }
        }
    }

    /// <summary>
    /// The same from a coalition's side, with masks between all pairs (safe against coalitions of up to N - 2): for every
    /// coalition of the given size, every message a member receives during reduce-scatter, with the masks of every pair
    /// that touches the coalition stripped in every combination of signs, is never the plain sum of some ranks' inputs
    /// (for a constant input, a stripped mask leaves exactly that). Exempt are messages whose honest part is nobody
    /// (the coalition's own sums) or every honest rank (which the total gives away). A plan that dropped a pair the
    /// coalition of all but that pair needs (<see cref="Privacy.RingMaskPlan"/>) fails here while the sums stay exact.
    /// </summary>
    [Theory]
    [InlineData(4, 2)]
    [InlineData(5, 2)]
    [InlineData(5, 3)]
    public void WhatACoalitionReceives_StaysMasked_AfterRemovingEveryMaskItKnows(int ranks, int coalitionSize)
    {
        const int count = 1 << 12, words = 64;
        var runs = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, new MaskedAllReduceOptions { ClipRange = 1f });
            var known = masked.PeersForCall(0);
            var peerRanks = masked.Peers.ToArray();
            bool plan = masked.RingMasksForCall(0).SkipsPathNeighbours;
            var sent = new List<(int Step, int Start, int[] Words)>();
            var data = new float[count];
            data.AsSpan().Fill(0.25f);
            masked.SumObservingSends(data, null, (step, start, segment) => sent.Add((step, start, segment[..Math.Min(words, segment.Length)].ToArray())));
            return (Known: known, PeerRanks: peerRanks, Plan: plan, Sent: sent, masked.Format);
        }, World);
        int plain = MaskedReference.Quantize(0.25f, 1f, runs[0].Format.FractionalBits);
        Assert.All(runs, run => Assert.True(run.Plan));
        foreach (var coalition in Subsets(ranks, coalitionSize))
        {
            // The coalition knows every pair mask with an end in it: one seed per pair, taken from its member's side.
            var pairs = new Dictionary<(int, int), Seed128>();
            foreach (int member in coalition)
                for (int p = 0; p < runs[member].PeerRanks.Length; p++)
                {
                    int other = runs[member].PeerRanks[p];
                    pairs.TryAdd((Math.Min(member, other), Math.Max(member, other)), runs[member].Known[p].Seed);
                }
            var seeds = pairs.Values.ToArray();
            var honest = Enumerable.Range(0, ranks).Where(r => !coalition.Contains(r)).ToHashSet();
            foreach (int receiver in coalition)
            {
                int sender = (receiver - 1 + ranks) % ranks;
                foreach (var (step, start, message) in runs[sender].Sent)
                {
                    // Received at step s: the sum over the arc chunk + 1 .. receiver - 1 of chunk receiver - s - 2.
                    int chunk = ((receiver - step - 2) % ranks + ranks) % ranks;
                    var arc = Enumerable.Range(1, step + 1).Select(d => (chunk + d) % ranks).ToArray();
                    int honestInArc = arc.Count(honest.Contains);
                    if (honestInArc == 0 || honestInArc == honest.Count) continue;
                    AssertNoStripRevealsAPlainSum(message, start, seeds, plain, ranks,
                        $"{ranks} ranks, coalition {{{string.Join(",", coalition)}}}: rank {receiver}'s receive at step {step} (chunk {chunk})");
                }
            }
        }
    }

    private static void AssertNoStripRevealsAPlainSum(int[] message, int start, Seed128[] seeds, int plain, int ranks, string what)
    {
        foreach (var (combination, stripped) in EveryStrip(message, start, seeds))
        {
            int first = stripped[0];
            if (!stripped.All(w => w == first)) continue;
            Assert.False(Enumerable.Range(0, ranks + 1).Any(m => first == m * plain), $"{what}: stripping masks {combination} leaves the plain sum of {first / plain} ranks");
        }
    }

    /// <summary>
    /// Every way a party holding <paramref name="seeds"/> can strip their masks from a message of elements
    /// [start, start + message.Length): combination k takes digit p of k in base 3 as -1 (2), 0 or +1 (1) times pair
    /// p's mask; combination 0 is the message itself. Each mask's words are made once.
    /// </summary>
    private static IEnumerable<(int Combination, int[] Stripped)> EveryStrip(int[] message, int start, Seed128[] seeds)
    {
        var masks = seeds.Select(seed =>
        {
            var words = new int[start + message.Length];
            MaskStreams.AddMasks(MaskGenerator.ChaCha8, words, start, message.Length, [new MaskPeer { Seed = seed, Sign = 1 }]);
            return words[start..];
        }).ToArray();
        int combinations = (int)Math.Pow(3, masks.Length);
        for (int combination = 0; combination < combinations; combination++)
        {
            var stripped = (int[])message.Clone();
            for (int p = 0, c = combination; p < masks.Length; p++, c /= 3)
                if (c % 3 != 0)
                    for (int i = 0; i < stripped.Length; i++) stripped[i] = unchecked(stripped[i] + (c % 3 == 1 ? masks[p][i] : -masks[p][i]));
            yield return (combination, stripped);
        }
    }

    private static IEnumerable<int[]> Subsets(int n, int size) =>
        Enumerable.Range(0, 1 << n).Where(m => System.Numerics.BitOperations.PopCount((uint)m) == size)
            .Select(m => Enumerable.Range(0, n).Where(r => (m >> r & 1) != 0).ToArray());

    /// <summary>Both generators, fused and unfused, on rank counts where chunks cut the 256-word ChaCha batches: exact against the plain quantized sum.</summary>
    [Theory]
    [InlineData(MaskGenerator.ChaCha8, 3)]
    [InlineData(MaskGenerator.ChaCha8, 5)]
    [InlineData(MaskGenerator.Philox, 3)]
    [InlineData(MaskGenerator.Philox, 6)]
    public void EachGenerator_FusedAndUnfused_EqualThePlainQuantizedSum(MaskGenerator generator, int ranks)
    {
        int[] counts = [17, 16 * ranks + 1, 20_011];
        var options = new MaskedAllReduceOptions { ClipRange = 1f, Generator = generator };
        int bits = MaskedFormat.FinestSafeBits(1f, ranks);
        var results = InProcessWorld.Run(ranks, comm =>
        {
            var masked = Masked.Create(comm, options);
            return counts.Select((count, c) =>
            {
                var fused = MaskedReference.Input(comm.Rank, count, 1f, seed: c);
                var unfused = (float[])fused.Clone();
                masked.Sum(fused, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 1024 });
                masked.Sum(unfused, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Tree });
                return (fused, unfused);
            }).ToArray();
        }, World);
        for (int c = 0; c < counts.Length; c++)
        {
            var expected = MaskedReference.QuantizedSum(Enumerable.Range(0, ranks).Select(r => MaskedReference.Input(r, counts[c], 1f, seed: c)).ToArray(), 1f, bits);
            for (int r = 0; r < ranks; r++)
            {
                Assert.Equal(-1, MaskedReference.FirstDifference(expected, results[r][c].fused));
                Assert.Equal(-1, MaskedReference.FirstDifference(expected, results[r][c].unfused));
            }
        }
    }

    /// <summary>The generator is part of the agreed options: a rank with another one is named, not left to produce garbage.</summary>
    [Fact]
    public void DifferentGenerators_AreNamed()
    {
        var error = Assert.Throws<RankFailedException>(() => InProcessWorld.Run(3, comm =>
        {
            Masked.Create(comm, new MaskedAllReduceOptions { Generator = comm.Rank == 1 ? MaskGenerator.Philox : MaskGenerator.ChaCha8 });
        }, World));
        var privacy = Assert.IsType<PrivacyException>(error.InnerException);
        Assert.Contains("rank 1 has", privacy.Message);
        Assert.Contains("Generator Philox", privacy.Message);
    }

    /// <summary>Which calls take the fused ring: Ring always, Auto on in-process ranks, never the other algorithms or with FuseIntoRing off.</summary>
    [Fact]
    public void FusedRing_IsTakenByRingAndInProcessAuto_Only()
    {
        var decisions = InProcessWorld.Run(2, comm =>
        {
            var fused = Masked.Create(comm);
            var unfused = Masked.Create(comm, new MaskedAllReduceOptions { FuseIntoRing = false });
            return new[]
            {
                fused.UsesFusedRing(null),
                fused.UsesFusedRing(new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring }),
                fused.UsesFusedRing(new CollectiveOptions { Algorithm = AllReduceAlgorithm.Tree }),
                fused.UsesFusedRing(new CollectiveOptions { Algorithm = AllReduceAlgorithm.Direct }),
                unfused.UsesFusedRing(new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring }),
            };
        }, World);
        Assert.All(decisions, d => Assert.Equal(new[] { true, true, false, false, false }, d));
    }

    /// <summary>
    /// A rank that fails in the middle of step 0, with the neighbour's segments already lent to it: its failure path
    /// returns the loans and withdraws what it posted, and the neighbour ends with an error in bounded time.
    /// </summary>
    [Fact]
    public void ARankThatFailsHoldingLoans_ReleasesItsNeighbour_NotAHang()
    {
        var quick = new InProcessWorldOptions { Timeout = TimeSpan.FromSeconds(5) };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = Assert.ThrowsAny<Exception>(() => InProcessWorld.Run(2, comm =>
        {
            var masked = Masked.Create(comm);
            var data = new float[1 << 16];
            int sent = 0;
            // 16 KiB segments: 8 per chunk; rank 0 fails as it masks its third, after both receives were posted.
            masked.SumObservingSends(data, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 16384, Timeout = TimeSpan.FromSeconds(3) },
                (_, _, _) => { if (comm.Rank == 0 && ++sent == 3) throw new InvalidOperationException("rank 0 fails on purpose"); });
            return 0;
        }, quick));
        Assert.Contains("on purpose", error.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the failure took {clock.Elapsed} to reach every rank");
    }

    [Fact]
    public void DifferentLengths_FailWithANamedError_NotAHang()
    {
        var quick = new InProcessWorldOptions { Timeout = TimeSpan.FromSeconds(5) };
        var error = Assert.ThrowsAny<Exception>(() => InProcessWorld.Run(2, comm =>
        {
            var masked = Masked.Create(comm);
            var data = new float[comm.Rank == 0 ? 1000 : 3000];
            masked.Sum(data, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, Timeout = TimeSpan.FromSeconds(3) });
            return 0;
        }, quick));
        Assert.Contains("rank", error.ToString());
    }
}
