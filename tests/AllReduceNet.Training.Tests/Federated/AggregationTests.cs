using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>The plain aggregator and the server step against sums worked out by hand.</summary>
public class AggregationTests
{
    // Global model [1, 2]; client models and sample counts chosen so every value is exact in float.
    private static readonly float[] Global = [1f, 2f];
    private static readonly (float[] Model, int Samples)[] ClientModels =
        [([2f, 0f], 1), ([0f, 4f], 3), ([1f, 1f], 2), ([3f, 3f], 2)];

    private static ClientUpdate UpdateOf(int client)
    {
        var (model, n) = ClientModels[client];
        return new ClientUpdate(client, [n * (model[0] - Global[0]), n * (model[1] - Global[1]), n]);
    }

    private static AggregatedUpdate?[] AggregateOnRanks(RoundPlan plan, int ranks, Func<int, ClientUpdate>? update = null) =>
        InProcessWorld.Run(ranks, world =>
        {
            var (start, length) = plan.PositionsOf(world.Rank);
            var local = Enumerable.Range(start, length).Where(plan.Reports).Select(p => (update ?? UpdateOf)(plan.Sampled[p])).ToList();
            using var aggregator = new PlainUpdateAggregator();
            return aggregator.Aggregate(world, plan, local, 3);
        });

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void The_server_gets_the_weighted_sum_and_the_new_model_is_the_weighted_mean(int ranks)
    {
        var plan = RoundPlan.Create(RoundPlanTests.Settings(4, 4), seed: 1, round: 0, ranks);
        Assert.Equal([0, 1, 2, 3], plan.Sampled);
        var results = AggregateOnRanks(plan, ranks);
        Assert.All(results.Skip(1), r => Assert.Null(r));
        var aggregate = results[0]!;
        // By hand: [1,-2] + [-3,6] + [0,-2] + [4,2] = [2, 4]; weights 1 + 3 + 2 + 2 = 8.
        Assert.Equal([2f, 4f, 8f], aggregate.Sum!);
        Assert.Equal(4, aggregate.Contributors);
        Assert.Equal(12, aggregate.BytesSentPerClient);
        var model = (float[])Global.Clone();
        ServerOptimizer.Apply(model, new float[2], aggregate.Sum!, serverLearningRate: 1f, serverMomentum: 0f);
        // (1 [2,0] + 3 [0,4] + 2 [1,1] + 2 [3,3]) / 8 = [10, 20] / 8.
        Assert.Equal([1.25f, 2.5f], model);
    }

    [Fact]
    public void Dropped_clients_are_left_out_of_the_sum()
    {
        var settings = RoundPlanTests.Settings(4, 4, dropout: 0.5);
        // The first seeds whose round 0 drops some but not all of the four clients.
        var plan = Enumerable.Range(1, 100).Select(seed => RoundPlan.Create(settings, seed, 0, 2)).First(p => p.ReportingCount is > 0 and < 4);
        var aggregate = AggregateOnRanks(plan, 2)[0]!;
        var expected = new float[3];
        for (int p = 0; p < 4; p++)
            if (plan.Reports(p))
                for (int i = 0; i < 3; i++) expected[i] += UpdateOf(plan.Sampled[p]).Vector[i];
        Assert.Equal(expected, aggregate.Sum!);
        Assert.Equal(plan.ReportingCount, aggregate.Contributors);
    }

    [Fact]
    public void A_round_in_which_nobody_reports_is_aborted_with_a_reason()
    {
        var settings = RoundPlanTests.Settings(4, 2, dropout: 0.9);
        var plan = Enumerable.Range(1, 100).Select(seed => RoundPlan.Create(settings, seed, 0, 2)).First(p => p.ReportingCount == 0);
        var aggregate = AggregateOnRanks(plan, 2)[0]!;
        Assert.True(aggregate.Aborted);
        Assert.Contains("none of the 2 sampled clients reported", aggregate.AbortReason);
    }

    [Fact]
    public void A_non_finite_update_aborts_the_round_naming_the_client()
    {
        var plan = RoundPlan.Create(RoundPlanTests.Settings(4, 4), 1, 0, 2);
        var aggregate = AggregateOnRanks(plan, 2, c => c == 2 ? new ClientUpdate(2, [float.NaN, 0f, 2f]) : UpdateOf(c))[0]!;
        Assert.True(aggregate.Aborted);
        Assert.Contains("client 2", aggregate.AbortReason);
    }

    [Fact]
    public void An_update_of_the_wrong_length_is_named()
    {
        var plan = RoundPlan.Create(RoundPlanTests.Settings(4, 4), 1, 0, 1);
        var error = Assert.ThrowsAny<Exception>(() => AggregateOnRanks(plan, 1, c => c == 1 ? new ClientUpdate(1, [1f, 2f]) : UpdateOf(c)));
        Assert.Contains("client 1's update has 2 values", (error.InnerException ?? error).Message);
    }

    [Fact]
    public void Server_momentum_accumulates_the_mean_updates()
    {
        float[] model = [0f], velocity = [0f];
        ServerOptimizer.Apply(model, velocity, [4f, 2f], 1f, 0.5f);    // mean 2: v = 2, w = 2
        Assert.Equal([2f], model);
        ServerOptimizer.Apply(model, velocity, [3f, 3f], 1f, 0.5f);    // mean 1: v = 0.5 x 2 + 1 = 2, w = 4
        Assert.Equal([2f], velocity);
        Assert.Equal([4f], model);
        ServerOptimizer.Apply(model, velocity, [0f, 1f], 0.5f, 0.5f);  // mean 0: v = 1, w = 4 + 0.5 x 1
        Assert.Equal([4.5f], model);
    }
}
