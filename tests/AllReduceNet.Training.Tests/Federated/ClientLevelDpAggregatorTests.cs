using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Federated;
using AllReduceNet.Training.Federated.ClientDp;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>
/// <see cref="ClientDpAggregator"/> around the plain and the secure aggregator: every client's update leaves its rank
/// clipped to C; the noise on the sum has std z·C (server-side, or split among the clients, also inside a secure sum)
/// within a statistical bound whatever the rank count; the mean divides by the fixed m; adaptive clipping converges to
/// the target quantile; z_Δ follows Andrew et al.'s formula.
/// </summary>
public class ClientLevelDpAggregatorTests
{
    private static ClientDpSettings Dp(double clip, double z, NoisePlacement placement = NoisePlacement.Server, int minClients = 10, int perRound = 10,
        AdaptiveClipping? adaptive = null, bool secure = false) =>
        new(clip, z, null, 1e-5, placement, minClients, perRound, perRound / 30.0, adaptive, secure, null, "test");

    /// <summary>Records what the inner aggregator was given, then sums it as the plain aggregator does.</summary>
    private sealed class Recording : IUpdateAggregator
    {
        private readonly PlainUpdateAggregator _plain = new();
        public List<ClientUpdate> Seen { get; } = [];
        public string Name => "recording";
        public AggregatedUpdate? Aggregate(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength)
        {
            lock (Seen) Seen.AddRange(local);
            return _plain.Aggregate(world, plan, local, vectorLength);
        }
        public void Dispose() { }
    }

    /// <summary>Client c's weighted update: n_c · Δ_c with ‖Δ_c‖ = norm(c), then n_c.</summary>
    private static ClientUpdate Update(int client, int length, Func<int, double> norm)
    {
        var random = new Random(500 + client);
        var delta = new double[length];
        for (int i = 0; i < length; i++) delta[i] = random.NextDouble() - 0.5;
        double scale = norm(client) / Math.Sqrt(delta.Sum(d => d * d));
        int n = 5 + client % 7;
        var vector = new float[length + 1];
        for (int i = 0; i < length; i++) vector[i] = (float)(n * delta[i] * scale);
        vector[^1] = n;
        return new ClientUpdate(client, vector);
    }

    private static AggregatedUpdate?[] Run(RoundPlan plan, int ranks, ClientDpSettings dp, Func<int, ClientUpdate> update, int length,
        Func<IUpdateAggregator> inner, float? secureClip = null, Recording? recording = null) =>
        InProcessWorld.Run(ranks, world =>
        {
            using var backend = KernelBackends.Create("cpu", 1);
            var (start, count) = plan.PositionsOf(world.Rank);
            var local = Enumerable.Range(start, count).Where(plan.Reports).Select(p => update(plan.Sampled[p])).ToList();
            using var aggregator = new ClientDpAggregator(dp, recording ?? inner(), backend, seed: 11, dp.ClipNorm, secureClip);
            return aggregator.Aggregate(world, plan, local, length + 1);
        });

    private static (double Mean, double Std) Moments(ReadOnlySpan<float> values)
    {
        double mean = 0, square = 0;
        foreach (float v in values) { mean += v; square += (double)v * v; }
        mean /= values.Length;
        return (mean, Math.Sqrt(square / values.Length - mean * mean));
    }

    /// <summary>n samples of a normal: the sample std is within 5 standard errors (σ/√(2n)) of σ.</summary>
    private static void AssertStd(double expected, ReadOnlySpan<float> values, string what)
    {
        var (mean, std) = Moments(values);
        double standardError = expected / Math.Sqrt(2.0 * values.Length);
        Assert.True(Math.Abs(std - expected) < 5 * standardError, $"{what}: std {std:G5}, expected {expected:G5} ± {5 * standardError:G3}");
        Assert.True(Math.Abs(mean) < 5 * expected / Math.Sqrt(values.Length), $"{what}: mean {mean:G4} is not 0");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Every_update_leaves_its_rank_clipped_to_C_and_unweighted(int ranks)
    {
        const int length = 50;
        const double clip = 1.5;
        var plan = RoundPlan.Create(RoundPlanTests.Settings(30, 10), 4, 0, ranks);
        // Norms 0.3 .. 5.7: some below C (left as they are), most above (scaled to C).
        Func<int, double> norm = c => 0.3 + 0.2 * c;
        var recording = new Recording();
        var result = Run(plan, ranks, Dp(clip, 0), c => Update(c, length, norm), length, () => null!, recording: recording)[0]!;
        Assert.Equal(10, recording.Seen.Count);
        foreach (var sent in recording.Seen)
        {
            var original = Update(sent.Client, length, norm);
            double sentNorm = Math.Sqrt(sent.Vector.Take(length).Sum(v => (double)v * v));
            Assert.True(sentNorm <= clip * (1 + 1e-6), $"client {sent.Client}: norm {sentNorm} > C {clip}");
            Assert.Equal(length + 2, sent.Vector.Length);
            Assert.Equal(1f, sent.Vector[^1]);
            double expectedNorm = Math.Min(norm(sent.Client), clip);
            Assert.Equal(expectedNorm, sentNorm, 1e-4);
            // The direction is kept: the sent delta is the original delta / n_k scaled by min(1, C / ‖Δ‖).
            double factor = expectedNorm / norm(sent.Client);
            for (int i = 0; i < length; i++)
                Assert.Equal(original.Vector[i] / original.Weight * factor, sent.Vector[i], 1e-5);
        }
        // The server step divides by the fixed m = 10, not by the sample counts.
        Assert.Equal(10f, result.Sum![^1]);
        Assert.Equal(length + 1, result.Sum.Length);
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 4)]
    [InlineData(true, 1)]
    [InlineData(true, 4)]
    public void The_noise_on_the_plain_sum_has_std_z_C_wherever_it_is_added(bool atClients, int ranks)
    {
        var placement = atClients ? NoisePlacement.Clients : NoisePlacement.Server;
        const int length = 40_000;
        const double clip = 0.7, z = 1.3;
        var plan = RoundPlan.Create(RoundPlanTests.Settings(30, 10), 9, 0, ranks);
        // Zero updates: what the sum holds is the noise alone.
        var result = Run(plan, ranks, Dp(clip, z, placement), c => new ClientUpdate(c, [.. new float[length], 3f]), length, () => new PlainUpdateAggregator())[0]!;
        Assert.False(result.Aborted, result.AbortReason);
        AssertStd(z * clip, result.Sum.AsSpan(0, length), $"{placement} on {ranks} ranks");
    }

    [Fact]
    public void Split_noise_is_in_the_secure_sum_although_no_one_added_it_at_the_server()
    {
        const int length = 20_000;
        const double clip = 0.5, z = 1.0;
        var options = new SecureAggregationOptions(null, null, 3f, null, 0);
        var secureSettings = options.CreateSettings(10, 20, length + 2);
        int threshold = options.ThresholdFor(10);
        Assert.Equal(6, threshold);
        var dp = Dp(clip, z, NoisePlacement.Clients, minClients: threshold);
        IUpdateAggregator Secure() => new SecureUpdateAggregator(options, secureSettings, 5);

        // All 10 report: each added 1/6 of the variance, so the sum carries z C sqrt(10/6) (the price of tolerating dropouts).
        var all = RoundPlan.Create(RoundPlanTests.Settings(30, 10), 9, 0, 2);
        var full = Run(all, 2, dp, c => new ClientUpdate(c, [.. new float[length], 4f]), length, Secure, secureClip: 3f)[0]!;
        Assert.False(full.Aborted, full.AbortReason);
        Assert.Equal(10, full.Contributors);
        AssertStd(z * clip * Math.Sqrt(10.0 / 6), full.Sum.AsSpan(0, length), "secure, 10 of 10 report");

        // Exactly t = 6 report: the sum carries z C, the whole noise.
        var dropping = RoundPlanTests.Settings(30, 10, dropout: 0.4);
        int seed = Enumerable.Range(1, 1000).First(s => RoundPlan.Create(dropping, s, 0, 1).ReportingCount == 6);
        var six = RoundPlan.Create(dropping, seed, 0, 2);
        var least = Run(six, 2, dp, c => new ClientUpdate(c, [.. new float[length], 4f]), length, Secure, secureClip: 3f)[0]!;
        Assert.False(least.Aborted, least.AbortReason);
        Assert.Equal(6, least.Contributors);
        AssertStd(z * clip, least.Sum.AsSpan(0, length), "secure, 6 of 10 report");
    }

    [Fact]
    public void A_round_with_fewer_clients_than_the_noise_was_split_for_is_aborted()
    {
        var dropping = RoundPlanTests.Settings(30, 10, dropout: 0.4);
        int seed = Enumerable.Range(1, 1000).First(s => RoundPlan.Create(dropping, s, 0, 1).ReportingCount == 7);
        var plan = RoundPlan.Create(dropping, seed, 0, 2);
        var result = Run(plan, 2, Dp(1, 1, NoisePlacement.Clients, minClients: 8), c => Update(c, 6, _ => 1), 6, () => new PlainUpdateAggregator())[0]!;
        Assert.True(result.Aborted);
        Assert.Contains("only 7 clients' noise shares", result.AbortReason);
        Assert.Contains("--client-dp-min-clients", result.AbortReason);
    }

    [Fact]
    public void Secure_random_noise_has_the_same_std_and_differs_between_calls()
    {
        const int length = 40_000;
        var plan = RoundPlan.Create(RoundPlanTests.Settings(30, 10), 9, 0, 1);
        var dp = Dp(0.7, 1.3, secure: true);
        float[] Once() => Run(plan, 1, dp, c => new ClientUpdate(c, [.. new float[length], 3f]), length, () => new PlainUpdateAggregator())[0]!.Sum!;
        var first = Once();
        AssertStd(0.7 * 1.3, first.AsSpan(0, length), "CSPRNG noise");
        Assert.NotEqual(first, Once());
    }

    [Fact]
    public void Seeded_noise_does_not_depend_on_the_rank_count()
    {
        const int length = 1000;
        var dp = Dp(0.7, 1.3, NoisePlacement.Clients);
        float[] On(int ranks) => Run(RoundPlan.Create(RoundPlanTests.Settings(30, 10), 9, 0, ranks), ranks, dp,
            c => Update(c, length, x => 0.2 * x), length, () => new PlainUpdateAggregator())[0]!.Sum!;
        Assert.Equal(On(1), On(5));
    }

    [Fact]
    public void The_update_noise_multiplier_leaves_room_for_the_count_as_Andrew_et_al_state()
    {
        // (z^-2 - (2 sigma_b)^-2)^-1/2: z = 1, sigma_b = 2 gives (1 - 1/16)^-1/2.
        Assert.Equal(1 / Math.Sqrt(1 - 1.0 / 16), ClientDpSettings.UpdateNoiseFor(1, 2), 12);
        Assert.Equal(1.0, ClientDpSettings.UpdateNoiseFor(1, null));
        // Composing the two back gives z: z_Delta^-2 + (2 sigma_b)^-2 = z^-2.
        double zDelta = ClientDpSettings.UpdateNoiseFor(0.8, 5);
        Assert.Equal(1 / (0.8 * 0.8), 1 / (zDelta * zDelta) + 1 / (4.0 * 25), 10);
        var refused = Assert.Throws<TrainingException>(() => ClientDpSettings.UpdateNoiseFor(1, 0.5));
        Assert.Contains("--client-dp-count-noise 0.5", refused.Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.8)]
    public void Adaptive_clip_converges_to_the_target_quantile_of_a_known_norm_distribution(double quantile)
    {
        // Norms uniform on [0, 4]: the gamma-quantile is 4 gamma. m = 100 clients per round, sigma_b = m / 20.
        var adaptive = new AdaptiveClipping(quantile, 0.2, 5);
        var random = new Random(17);
        double clip = 0.1;
        var late = new List<double>();
        for (int round = 0; round < 400; round++)
        {
            double sum = 0;
            for (int i = 0; i < 100; i++) sum += AdaptiveClipNorm.CenteredBit(4 * random.NextDouble(), clip);
            double noise = 5 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            clip = AdaptiveClipNorm.Next(clip, sum + noise, 100, adaptive, double.PositiveInfinity);
            if (round >= 200) late.Add(clip);
        }
        double mean = late.Average();
        Assert.True(Math.Abs(mean - 4 * quantile) < 0.1 * 4 * quantile, $"clip settled at {mean:F3}, the {quantile} quantile is {4 * quantile}");
    }

    [Fact]
    public void Adaptive_clip_through_the_aggregator_tracks_the_median_update_norm()
    {
        // 40 clients per round whose update norms are 0.5 .. 4.4 (client c: 0.5 + 0.1 (c mod 40)); the median is about 2.45.
        const int length = 8;
        var settings = RoundPlanTests.Settings(200, 40);
        var adaptive = new AdaptiveClipping(0.5, 0.2, 2);
        var dp = new ClientDpSettings(0.1, 1, null, 1e-5, NoisePlacement.Clients, 40, 40, 0.2, adaptive, false, null, "test");
        double clip = 0.1;
        var late = new List<double>();
        InProcessWorld.Run(2, world =>
        {
            using var backend = KernelBackends.Create("cpu", 1);
            using var aggregator = new ClientDpAggregator(dp, new PlainUpdateAggregator(), backend, 3, 0.1, null);
            for (int round = 0; round < 150; round++)
            {
                var plan = RoundPlan.Create(settings, 3, round, 2);
                var (start, count) = plan.PositionsOf(world.Rank);
                var local = Enumerable.Range(start, count).Select(p => Update(plan.Sampled[p], length, c => 0.5 + 0.1 * (c % 40))).ToList();
                aggregator.Aggregate(world, plan, local, length + 1);
                if (world.Rank == 0 && round >= 100) late.Add(aggregator.ClipNorm);
            }
            if (world.Rank == 0) clip = aggregator.ClipNorm;
            return 0;
        });
        double mean = late.Average();
        Assert.True(mean is > 2.0 and < 2.9, $"the clip norm settled at {mean:F3}; the median update norm is about 2.45");
        Assert.NotEqual(0.1, clip);
    }
}
