using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Compression;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Tests;

/// <summary>Each --compress compressor on small buckets, against sums computed here in plain scalar code.</summary>
public class GradientCompressorTests
{
    private static float[] RandomVector(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => scale * ((float)random.NextDouble() - 0.5f)).ToArray();
    }

    /// <summary>Runs one Sum of layer 0 on every rank; returns each rank's bucket after it (and the compressor, for its state).</summary>
    private static (float[] Bucket, IGradientCompressor Compressor)[] SumOnce(int ranks, Func<Communicator, IGradientCompressor> create, Func<int, float[]> input, int steps = 1) =>
        InProcessWorld.Run(ranks, world =>
        {
            var compressor = create(world);
            float[] bucket = [];
            for (int step = 0; step < steps; step++)
            {
                bucket = input(world.Rank * 1000 + step);
                compressor.Sum(0, bucket);
            }
            return (bucket, compressor);
        });

    private static void AssertIdenticalOnAllRanks(float[][] buckets)
    {
        for (int r = 1; r < buckets.Length; r++) Assert.Equal(buckets[0], buckets[r]);
    }

    [Theory]
    [InlineData("fp16", CompressionKind.Fp16, 1.0, 0)]
    [InlineData("BF16", CompressionKind.Bf16, 1.0, 0)]
    [InlineData("topk:0.01", CompressionKind.TopK, 0.01, 0)]
    [InlineData("topk:1", CompressionKind.TopK, 1.0, 0)]
    [InlineData("powersgd:4", CompressionKind.PowerSgd, 1.0, 4)]
    public void Specs_parse(string text, object kind, double ratio, int rank)
    {
        var spec = CompressionSpec.Parse(text);
        Assert.Equal((CompressionKind)kind, spec.Kind);
        Assert.Equal(ratio, spec.Ratio);
        Assert.Equal(rank, spec.Rank);
    }

    [Theory]
    [InlineData("topk:0", "ratio must be a number in (0, 1]")]
    [InlineData("topk:1.5", "ratio must be a number in (0, 1]")]
    [InlineData("topk:-0.1", "ratio must be a number in (0, 1]")]
    [InlineData("topk:abc", "ratio must be a number in (0, 1]")]
    [InlineData("powersgd:0", "rank must be an integer of at least 1")]
    [InlineData("powersgd:2.5", "rank must be an integer of at least 1")]
    [InlineData("topk", "is unknown")]
    [InlineData("fp16:2", "is unknown")]
    [InlineData("gzip", "is unknown")]
    public void Bad_specs_are_refused_naming_the_option(string text, string expected)
    {
        var error = Assert.Throws<TrainingException>(() => CompressionSpec.Parse(text));
        Assert.Contains("--compress", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void BFloat16_rounds_to_nearest_even_and_keeps_specials()
    {
        Assert.Equal(1f, BFloat16.ToSingle(BFloat16.FromSingle(1f)));
        Assert.Equal(-2.5f, BFloat16.ToSingle(BFloat16.FromSingle(-2.5f)));
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
        Assert.Equal(1f, BFloat16.ToSingle(BFloat16.FromSingle(1f + MathF.Pow(2, -8))));
        // 1 + 3 x 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
        Assert.Equal(1f + MathF.Pow(2, -6), BFloat16.ToSingle(BFloat16.FromSingle(1f + 3 * MathF.Pow(2, -8))));
        Assert.Equal(1f + MathF.Pow(2, -7), BFloat16.ToSingle(BFloat16.FromSingle(1f + MathF.Pow(2, -7) + MathF.Pow(2, -10))));
        Assert.True(float.IsNaN(BFloat16.ToSingle(BFloat16.FromSingle(float.NaN))));
        Assert.Equal(float.PositiveInfinity, BFloat16.ToSingle(BFloat16.FromSingle(float.PositiveInfinity)));
        Assert.Equal(float.NegativeInfinity, BFloat16.ToSingle(BFloat16.FromSingle(float.MinValue)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(10, 3)]
    [InlineData(1000, 10)]
    [InlineData(1000, 1000)]
    public void TopKSelection_picks_the_largest_magnitudes(int n, int k)
    {
        var values = RandomVector(n, n + k);
        var indices = new int[k];
        TopKSelection.Select(values, k, indices, new float[n]);
        var expected = Enumerable.Range(0, n).OrderByDescending(i => MathF.Abs(values[i])).ThenBy(i => i).Take(k).Order().ToArray();
        Assert.Equal(expected, indices);
    }

    [Fact]
    public void TopKSelection_breaks_ties_by_index_and_ranks_NaN_first()
    {
        float[] values = [1f, -3f, 3f, 0f, 3f, float.NaN, 2f];
        var indices = new int[3];
        TopKSelection.Select(values, 3, indices, new float[values.Length]);
        Assert.Equal([1, 2, 5], indices);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Fp16_sums_within_half_precision_and_identically_on_every_rank(int ranks)
    {
        const int n = 37;
        var results = SumOnce(ranks, w => new Fp16Compressor(w, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring }, n), seed => RandomVector(n, seed));
        AssertIdenticalOnAllRanks(results.Select(r => r.Bucket).ToArray());
        var inputs = Enumerable.Range(0, ranks).Select(r => RandomVector(n, r * 1000)).ToArray();
        for (int i = 0; i < n; i++)
        {
            float expected = inputs.Sum(input => input[i]);
            Assert.True(MathF.Abs(expected - results[0].Bucket[i]) <= ranks * 1e-3f, $"entry {i}: {results[0].Bucket[i]} vs {expected}");
        }
        Assert.Equal(WireBytes.AllReduce(n, 2, ranks), results[0].Compressor.BytesSent);
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 37)]
    [InlineData(3, 37)]
    [InlineData(4, 2)]
    [InlineData(7, 100)]
    public void Bf16_equals_the_fp32_sum_of_the_bf16_inputs_rounded_once(int ranks, int n)
    {
        var results = SumOnce(ranks, w => new Bf16Compressor(w, CollectiveOptions.Default, n), seed => RandomVector(n, seed, 100f));
        AssertIdenticalOnAllRanks(results.Select(r => r.Bucket).ToArray());
        for (int i = 0; i < n; i++)
        {
            float sum = 0;
            for (int r = 0; r < ranks; r++) sum += BFloat16.ToSingle(BFloat16.FromSingle(RandomVector(n, r * 1000, 100f)[i]));
            Assert.Equal(BFloat16.ToSingle(BFloat16.FromSingle(sum)), results[0].Bucket[i]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void TopK_with_ratio_one_sends_everything_and_keeps_only_the_rounding(int ranks)
    {
        const int n = 50;
        var results = SumOnce(ranks, w => new TopKCompressor(w, CollectiveOptions.Default, 1.0, [n]), seed => RandomVector(n, seed));
        AssertIdenticalOnAllRanks(results.Select(r => r.Bucket).ToArray());
        for (int i = 0; i < n; i++)
        {
            float expected = 0;
            for (int r = 0; r < ranks; r++) expected += BFloat16.ToSingle(BFloat16.FromSingle(RandomVector(n, r * 1000)[i]));
            Assert.Equal(expected, results[0].Bucket[i]);
        }
        for (int r = 0; r < ranks; r++)
        {
            var input = RandomVector(n, r * 1000);
            var residual = ((TopKCompressor)results[r].Compressor).Residual(0).ToArray();
            for (int i = 0; i < n; i++) Assert.Equal(input[i] - BFloat16.ToSingle(BFloat16.FromSingle(input[i])), residual[i]);
        }
    }

    [Theory]
    [InlineData(2, 0.05, 1)]
    [InlineData(3, 0.01, 5)]
    [InlineData(5, 0.2, 3)]
    public void TopK_error_feedback_loses_nothing_over_steps(int ranks, double ratio, int steps)
    {
        // Spans two blocks, so the block split and its per-block k are exercised too.
        int n = TopKCompressor.BlockLength + 1234;
        var results = SumOnce(ranks, w => new TopKCompressor(w, CollectiveOptions.Default, ratio, [n]), seed => RandomVector(n, seed), steps);
        AssertIdenticalOnAllRanks(results.Select(r => r.Bucket).ToArray());
        var compressor = (TopKCompressor)results[0].Compressor;
        // The last step's sum has at most ranks x k non-zero entries.
        Assert.InRange(results[0].Bucket.Count(v => v != 0), 1, ranks * compressor.MessageLength(n));
        Assert.Equal(steps * WireBytes.AllGather(4L * compressor.MessageLength(n), ranks), compressor.BytesSent);
        // Conservation: every rank's inputs = what it sent + its residual. Summed over the ranks: the sums returned over
        // all steps plus the residuals equal the sum of all inputs (so re-run the steps to collect the returned sums).
        var returned = new double[n];
        var all = InProcessWorld.Run(ranks, world =>
        {
            var c = new TopKCompressor(world, CollectiveOptions.Default, ratio, [n]);
            var total = new double[n];
            for (int step = 0; step < steps; step++)
            {
                var bucket = RandomVector(n, world.Rank * 1000 + step);
                c.Sum(0, bucket);
                for (int i = 0; i < n; i++) total[i] += bucket[i];
            }
            return (total, c.Residual(0).ToArray());
        });
        var inputs = new double[n];
        for (int r = 0; r < ranks; r++)
            for (int step = 0; step < steps; step++)
            {
                var input = RandomVector(n, r * 1000 + step);
                for (int i = 0; i < n; i++) inputs[i] += input[i];
            }
        for (int i = 0; i < n; i++)
        {
            double residuals = 0;
            for (int r = 0; r < ranks; r++) residuals += all[r].Item2[i];
            Assert.True(Math.Abs(inputs[i] - (all[0].total[i] + residuals)) < 1e-4, $"entry {i}: inputs {inputs[i]}, sent {all[0].total[i]} + kept {residuals}");
        }
    }

    /// <summary>Per-rank inputs whose sum is the rank-1 matrix u v^T (m x n) plus a bias.</summary>
    private static float[] RankOneBucket(int m, int n, int rank)
    {
        var u = RandomVector(m, 1);
        var v = RandomVector(n, 2);
        float weight = rank + 1;
        var bucket = new float[m * n + n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) bucket[i * n + j] = weight * u[i] * v[j];
        for (int j = 0; j < n; j++) bucket[m * n + j] = weight * j;
        return bucket;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    public void PowerSgd_recovers_a_low_rank_sum_and_sends_biases_whole(int ranks, int rank)
    {
        const int m = 20, n = 12;
        var results = InProcessWorld.Run(ranks, world =>
        {
            var compressor = new PowerSgdCompressor(world, CollectiveOptions.Default, rank, [m, n], seed: 5);
            var bucket = RankOneBucket(m, n, world.Rank);
            compressor.Sum(0, bucket);
            return (bucket, compressor);
        });
        AssertIdenticalOnAllRanks(results.Select(r => r.bucket).ToArray());
        float total = ranks * (ranks + 1) / 2f;   // sum of the weights 1..N
        var expected = RankOneBucket(m, n, 0).Select(x => x * total).ToArray();
        Harness.AssertClose(expected, results[0].bucket, 1e-4f, "PowerSGD of a rank-1 sum");
        for (int j = 0; j < n; j++) Assert.Equal(expected[m * n + j], results[0].bucket[m * n + j]);
        Assert.Equal(rank, results[0].compressor.RankOf(0));
        Assert.Equal(WireBytes.AllReduce(rank * m + n, 4, ranks) + WireBytes.AllReduce(rank * n, 4, ranks), results[0].compressor.BytesSent);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void PowerSgd_error_feedback_keeps_what_the_approximation_missed(int ranks)
    {
        const int m = 30, n = 16;
        var results = InProcessWorld.Run(ranks, world =>
        {
            var compressor = new PowerSgdCompressor(world, CollectiveOptions.Default, 2, [m, n], seed: 9);
            var bucket = RandomVector(m * n + n, world.Rank + 40);
            compressor.Sum(0, bucket);
            return (bucket, compressor.Error(0).ToArray());
        });
        AssertIdenticalOnAllRanks(results.Select(r => r.bucket).ToArray());
        // A random 30 x 16 matrix is not rank 2: something is missed, and the ranks' errors hold exactly that.
        float missed = 0;
        for (int i = 0; i < m * n; i++)
        {
            float inputs = 0, errors = 0;
            for (int r = 0; r < ranks; r++) { inputs += RandomVector(m * n + n, r + 40)[i]; errors += results[r].Item2[i]; }
            Assert.True(MathF.Abs(inputs - (results[0].bucket[i] + errors)) < 1e-4f, $"entry {i}");
            missed = MathF.Max(missed, MathF.Abs(errors));
        }
        Assert.True(missed > 1e-2f, "a rank-2 approximation of a random matrix cannot be exact");
    }

    [Fact]
    public void PowerSgd_sends_small_matrices_whole()
    {
        // 3 x 2 with rank 4: r = 2, and 6 entries <= 2 x (3 + 2): nothing to gain.
        var results = InProcessWorld.Run(3, world =>
        {
            var compressor = new PowerSgdCompressor(world, CollectiveOptions.Default, 4, [3, 2], seed: 1);
            var bucket = RandomVector(8, world.Rank);
            compressor.Sum(0, bucket);
            return (bucket, compressor.RankOf(0));
        });
        Assert.Equal(0, results[0].Item2);
        var expected = Enumerable.Range(0, 8).Select(i => Enumerable.Range(0, 3).Sum(r => RandomVector(8, r)[i])).ToArray();
        Harness.AssertClose(expected, results[0].bucket, 1e-6f, "uncompressed small layer");
    }

    [Fact]
    public void Factory_sizes_each_compressor_for_the_layout()
    {
        var layout = new ParameterLayout([6, 5, 3]);
        var results = InProcessWorld.Run(2, world =>
        {
            var sums = new List<float[]>();
            foreach (var text in new[] { "fp16", "bf16", "topk:0.5", "powersgd:2" })
            {
                var compressor = GradientCompressors.Create(CompressionSpec.Parse(text), world, CollectiveOptions.Default, layout, seed: 1);
                for (int l = layout.LayerCount - 1; l >= 0; l--)
                {
                    var bucket = RandomVector(layout.LayerLength(l), l + 10 * world.Rank);
                    compressor.Sum(l, bucket);
                    sums.Add(bucket);
                }
            }
            return sums;
        });
        for (int i = 0; i < results[0].Count; i++) Assert.Equal(results[0][i], results[1][i]);
    }
}
