using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Privacy.SecureAggregation;
using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>
/// <see cref="SecureUpdateAggregator"/> against sums worked out in the clear: the secure sum is exactly (as integers)
/// the sum of the survivors' clipped, quantized vectors, whatever the rank count, with dropouts at every stage.
/// </summary>
public class SecureAggregationAggregatorTests
{
    private const int Length = 7;
    private const int MaxSamples = 40;

    // Client c's weighted update: deltas in about ±0.6 (one element beyond the clip of 1 for client 3), weight 10 + c % 30.
    private static ClientUpdate UpdateOf(int client)
    {
        var random = new Random(1000 + client);
        int n = 10 + client % 30;
        var vector = new float[Length];
        for (int i = 0; i < Length - 1; i++) vector[i] = n * (float)(random.NextDouble() * 1.2 - 0.6);
        if (client == 3) vector[0] = n * 2.5f;
        vector[^1] = n;
        return new ClientUpdate(client, vector);
    }

    private static AggregatedUpdate?[] AggregateOnRanks(RoundPlan plan, int ranks, SecureAggregationOptions options, int perRound) =>
        InProcessWorld.Run(ranks, world =>
        {
            var (start, length) = plan.PositionsOf(world.Rank);
            var local = Enumerable.Range(start, length).Where(plan.Reports).Select(p => UpdateOf(plan.Sampled[p])).ToList();
            using var aggregator = new SecureUpdateAggregator(options, options.CreateSettings(perRound, MaxSamples, Length), seed: 5);
            return aggregator.Aggregate(world, plan, local, Length);
        });

    /// <summary>The reference: clip each delta to ±n C, quantize, add as integers, dequantize.</summary>
    private static float[] QuantizedSum(RoundPlan plan, SecureAggregationSettings settings, float clip)
    {
        var sum = new long[Length];
        for (int p = 0; p < plan.Sampled.Count; p++)
        {
            if (!plan.Reports(p)) continue;
            var vector = UpdateOf(plan.Sampled[p]).Vector;
            for (int i = 0; i < Length - 1; i++) vector[i] = Math.Clamp(vector[i], -vector[^1] * clip, vector[^1] * clip);
            var words = SecAggClient.Quantize(vector, settings.Format);
            for (int i = 0; i < Length; i++) sum[i] += (int)words[i];
        }
        return sum.Select(s => (float)(s / (double)settings.Format.Scale)).ToArray();
    }

    [Theory]
    [InlineData(null, 0.0)]
    [InlineData(null, 0.3)]
    [InlineData(4, 0.3)]
    public void The_secure_sum_is_the_integer_sum_of_the_survivors_quantized_updates_on_1_3_and_8_ranks(int? neighbors, double unmaskDropout)
    {
        var options = new SecureAggregationOptions(neighbors, null, 1f, null, unmaskDropout);
        var settings = options.CreateSettings(10, MaxSamples, Length);
        // A round in which some clients drop before their input (as --dropout 0.3 says), some (when asked) before
        // unmasking, and at least t = 6 see it through.
        var federated = RoundPlanTests.Settings(30, 10, dropout: 0.3);
        var schedule = new SecureDropoutSchedule(5, unmaskDropout);
        // (SecAgg+ can still abort when a client loses too many of its k neighbours: the first seed whose round completes.)
        int seed = Enumerable.Range(1, 500).Where(s =>
        {
            var p = RoundPlan.Create(federated, s, 0, 1);
            int unmaskDrops = Enumerable.Range(0, 10).Count(i => schedule.DropsBefore(p, i) == SecAggStage.Unmasking);
            return p.ReportingCount is >= 7 and < 10 && (unmaskDropout == 0 || unmaskDrops >= 1) && p.ReportingCount - unmaskDrops >= 6;
        }).First(s => !AggregateOnRanks(RoundPlan.Create(federated, s, 0, 1), 1, options, 10)[0]!.Aborted);
        var expected = QuantizedSum(RoundPlan.Create(federated, seed, 0, 1), settings, 1f);
        float[]? first = null;
        foreach (int ranks in new[] { 1, 3, 8 })
        {
            var plan = RoundPlan.Create(federated, seed, 0, ranks);
            var results = AggregateOnRanks(plan, ranks, options, 10);
            Assert.All(results.Skip(1), r => Assert.Null(r));
            var aggregate = results[0]!;
            Assert.False(aggregate.Aborted, aggregate.AbortReason);
            Assert.Equal(plan.ReportingCount, aggregate.Contributors);
            Assert.Equal(expected, aggregate.Sum!);
            first ??= aggregate.Sum!;
            Assert.Equal(first, aggregate.Sum!);
            // U1..U3 lose the --dropout clients; the sum still holds everyone whose input arrived.
            Assert.Equal(4, aggregate.SurvivorsByStage!.Length);
            Assert.Equal(plan.ReportingCount, aggregate.SurvivorsByStage[2]);
            if (unmaskDropout > 0) Assert.True(aggregate.SurvivorsByStage[3] < aggregate.SurvivorsByStage[2], "nobody dropped before unmasking; pick another probability");
            Assert.True(aggregate.BytesSentPerClient > 4 * Length, $"only {aggregate.BytesSentPerClient} bytes per client");
        }
    }

    [Fact]
    public void The_secure_sum_is_within_the_quantization_bound_of_the_plain_sum()
    {
        var options = new SecureAggregationOptions(null, null, 10f, null, 0);
        var settings = options.CreateSettings(10, MaxSamples, Length);
        var plan = RoundPlan.Create(RoundPlanTests.Settings(30, 10), 2, 0, 4);
        var secure = AggregateOnRanks(plan, 4, options, 10)[0]!;
        var plain = new float[Length];
        foreach (int client in plan.Sampled)
            for (int i = 0; i < Length; i++) plain[i] += UpdateOf(client).Vector[i];
        double bound = settings.Format.SumErrorBound(10);
        for (int i = 0; i < Length; i++)
            Assert.True(Math.Abs(secure.Sum![i] - plain[i]) <= bound + 1e-5 * Math.Abs(plain[i]), $"element {i}: secure {secure.Sum[i]}, plain {plain[i]}, bound {bound}");
        Assert.Equal(plain[^1], secure.Sum![^1]);   // the weights are integers: exact
    }

    [Fact]
    public void Fewer_survivors_than_the_threshold_abort_the_round_with_the_stage_named()
    {
        // t = 10 of 10: any dropout aborts.
        var options = new SecureAggregationOptions(null, 10, 1f, null, 0);
        var plan = Enumerable.Range(1, 200).Select(seed => RoundPlan.Create(RoundPlanTests.Settings(30, 10, dropout: 0.3), seed, 0, 3))
            .First(p => p.ReportingCount is >= 5 and < 10);
        var results = AggregateOnRanks(plan, 3, options, 10);
        var aggregate = results[0]!;
        Assert.True(aggregate.Aborted);
        Assert.Contains("secure aggregation", aggregate.AbortReason);
        Assert.Contains("threshold", aggregate.AbortReason, StringComparison.OrdinalIgnoreCase);
        Assert.Null(results[1]);
    }

    [Fact]
    public void Settings_that_could_overflow_the_modulus_are_refused_naming_clients_range_and_bits()
    {
        // The default picks the finest safe bits: 10 clients x (40 x 2^f + 1/2) <= 2^31 - 1 gives f = 22.
        Assert.Equal(22, new SecureAggregationOptions(null, null, 1f, null, 0).CreateSettings(10, MaxSamples, Length).Format.FractionalBits);
        Assert.Equal(22, new SecureAggregationOptions(null, null, 1f, 22, 0).CreateSettings(10, MaxSamples, Length).Format.FractionalBits);
        var error = Assert.Throws<TrainingException>(() => new SecureAggregationOptions(null, null, 1f, 23, 0).CreateSettings(10, MaxSamples, Length));
        Assert.Contains("10 clients per round", error.Message);
        Assert.Contains("clip range 40", error.Message);
        Assert.Contains("2^23", error.Message);
        Assert.Contains("--secagg-bits 22", error.Message);
    }
}
