using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>Client sampling and dropout: seeded, uniform, and independent of the rank count.</summary>
public class RoundPlanTests
{
    internal static FederatedSettings Settings(int clients, int perRound, double dropout = 0) =>
        new(FederatedAlgorithm.FedAvg, clients, perRound, PartitionSpec.Iid, 1, 8, 0, 1, 0, dropout);

    [Fact]
    public void Sampling_is_seeded_distinct_ascending_and_depends_on_the_round()
    {
        var settings = Settings(100, 10);
        var a = RoundPlan.Create(settings, seed: 1, round: 4, ranks: 3);
        Assert.Equal(a.Sampled, RoundPlan.Create(settings, 1, 4, 3).Sampled);
        Assert.NotEqual(a.Sampled, RoundPlan.Create(settings, 1, 5, 3).Sampled);
        Assert.NotEqual(a.Sampled, RoundPlan.Create(settings, 2, 4, 3).Sampled);
        Assert.Equal(10, a.Sampled.Distinct().Count());
        Assert.Equal(a.Sampled.Order(), a.Sampled);
        Assert.All(a.Sampled, c => Assert.InRange(c, 0, 99));
    }

    [Fact]
    public void Sampling_covers_the_clients_uniformly()
    {
        var settings = Settings(20, 5);
        var counts = new int[20];
        const int rounds = 2000;
        for (int r = 0; r < rounds; r++)
            foreach (int c in RoundPlan.Create(settings, 7, r, 1).Sampled) counts[c]++;
        // Each client is expected 500 times (5/20 of 2000), deviation sqrt(2000 x 0.25 x 0.75) = 19.4: allow 5 deviations.
        Assert.All(counts, n => Assert.InRange(n, 500 - 97, 500 + 97));
    }

    [Fact]
    public void The_plan_does_not_depend_on_the_rank_count_and_every_position_has_one_rank()
    {
        var settings = Settings(50, 13, dropout: 0.3);
        var one = RoundPlan.Create(settings, 3, 2, 1);
        foreach (int ranks in new[] { 2, 4, 8, 16 })
        {
            var plan = RoundPlan.Create(settings, 3, 2, ranks);
            Assert.Equal(one.Sampled, plan.Sampled);
            Assert.Equal(Enumerable.Range(0, 13).Select(one.Reports), Enumerable.Range(0, 13).Select(plan.Reports));
            var owners = Enumerable.Range(0, ranks).SelectMany(r => Enumerable.Range(plan.PositionsOf(r).Start, plan.PositionsOf(r).Length)).ToArray();
            Assert.Equal(Enumerable.Range(0, 13), owners);
            for (int p = 0; p < 13; p++)
            {
                var (start, length) = plan.PositionsOf(plan.RankOf(p));
                Assert.InRange(p, start, start + length - 1);
            }
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    [InlineData(0.5)]
    public void Dropout_drops_the_requested_fraction(double dropout)
    {
        var settings = Settings(100, 10, dropout);
        int dropped = 0;
        const int rounds = 1000;
        for (int r = 0; r < rounds; r++) dropped += 10 - RoundPlan.Create(settings, 11, r, 4).ReportingCount;
        double fraction = dropped / (rounds * 10.0);
        double deviation = Math.Sqrt(dropout * (1 - dropout) / (rounds * 10.0));
        Assert.InRange(fraction, dropout - 5 * deviation, dropout + 5 * deviation);
    }
}
