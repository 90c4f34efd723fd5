using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>The attacks change the updates, and so the plain mean, as each is defined.</summary>
public class AttackTests
{
    private const int Length = 5;   // 4 delta entries and the weight

    private static FederatedSettings Population(int clients, int perRound) =>
        new(FederatedAlgorithm.FedAvg, clients, perRound, PartitionSpec.Iid, 1, 8, 0, 1, 0, 0);

    private static ClientUpdate Honest(int client)
    {
        float n = 10 + client;
        return new ClientUpdate(client, [n * 0.1f * (client + 1), n * -0.2f, n * 0.05f * client, n * 0.3f, n]);
    }

    private static float[] Delta(ClientUpdate update) => update.Vector[..^1].Select(v => v / update.Weight).ToArray();

    /// <summary>Runs the attack over <paramref name="ranks"/> ranks; returns every client's reported update by id.</summary>
    private static Dictionary<int, ClientUpdate> Attacked(ClientAttack attack, RoundPlan plan, int ranks) =>
        InProcessWorld.Run(ranks, world =>
        {
            var (start, length) = plan.PositionsOf(world.Rank);
            var local = Enumerable.Range(start, length).Select(p => Honest(plan.Sampled[p])).ToList();
            return attack.Apply(world, plan, local, Length);
        }).SelectMany(u => u).ToDictionary(u => u.Client);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Signflip_K_reports_minus_K_times_the_update_and_moves_the_plain_mean_accordingly(int ranks)
    {
        var spec = AttackSpec.Parse("signflip:4", "3", 12);
        var attack = new ClientAttack(spec, 12, seed: 9);
        var plan = RoundPlan.Create(Population(12, 12), 9, 0, ranks);
        var reported = Attacked(attack, plan, ranks);
        Assert.Equal(3, attack.Malicious.Length);
        Assert.Equal(attack.Malicious, attack.MaliciousIn(plan));
        foreach (var (client, update) in reported)
        {
            var expected = Delta(Honest(client)).Select(d => attack.IsMalicious(client) ? -4 * d : d).ToArray();
            Assert.Equal(expected, Delta(update), (a, b) => Math.Abs(a - b) < 1e-6);
            Assert.Equal(Honest(client).Weight, update.Weight);
        }
        // The plain (weighted) mean: honest clients' n delta plus -4 n delta for the malicious ones, over the same weight.
        var mean = new MeanRule().Aggregate(reported.Values.Select(Delta).ToList(), reported.Values.Select(u => (double)u.Weight).ToList()).Delta;
        double total = Enumerable.Range(0, 12).Sum(c => Honest(c).Weight);
        for (int i = 0; i < Length - 1; i++)
        {
            double expected = Enumerable.Range(0, 12).Sum(c => Honest(c).Vector[i] * (attack.IsMalicious(c) ? -4.0 : 1.0)) / total;
            Assert.Equal(expected, mean[i], 5);
        }
    }

    [Fact]
    public void Scale_multiplies_and_gaussian_replaces_the_delta_with_noise_of_the_given_deviation()
    {
        float[] delta = [1f, -2f, 0.5f];
        Assert.Equal([10f, -20f, 5f], ClientAttack.Poison(AttackSpec.Parse("scale:10", "1", 5), delta, new Random(1)));
        var noise = ClientAttack.Poison(AttackSpec.Parse("gaussian:3", "1", 5), new float[20000], new Random(1));
        double mean = noise.Average(v => (double)v), std = Math.Sqrt(noise.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.1, 0.1);                 // 4.5 standard errors of 3 / sqrt(20000)
        Assert.InRange(std, 3 * 0.97, 3 * 1.03);
    }

    [Fact]
    public void Alie_reports_the_benign_mean_minus_z_times_their_deviation_on_every_rank_count()
    {
        var spec = AttackSpec.Parse("alie:1.5", "2", 6);
        var attack = new ClientAttack(spec, 6, seed: 3);
        var plan = RoundPlan.Create(Population(6, 6), 3, 0, 1);
        var benign = Enumerable.Range(0, 6).Where(c => !attack.IsMalicious(c)).Select(c => Delta(Honest(c))).ToList();
        foreach (int ranks in new[] { 1, 4 })
        {
            var reported = Attacked(attack, RoundPlan.Create(Population(6, 6), 3, 0, ranks), ranks);
            foreach (int bad in attack.Malicious)
                for (int i = 0; i < Length - 1; i++)
                {
                    double mu = benign.Average(d => (double)d[i]);
                    double sigma = Math.Sqrt(benign.Average(d => (d[i] - mu) * (d[i] - mu)));
                    Assert.Equal(mu - 1.5 * sigma, Delta(reported[bad])[i], 5);
                }
        }
        Assert.Equal(2, attack.MaliciousIn(plan).Length);
    }

    [Fact]
    public void Alie_z_max_follows_the_paper_and_the_inverse_normal_is_accurate()
    {
        Assert.Equal(1.959964, StandardNormal.InverseCdf(0.975), 5);
        Assert.Equal(0.0, StandardNormal.InverseCdf(0.5), 6);
        // n = 10, m = 2: s = floor(10/2 + 1) - 2 = 4 benign to win over; z = Phi^-1(6/10) = 0.253347.
        Assert.Equal(0.253347, ClientAttack.AlieZ(10, 2), 4);
        // n = 50, m = 12: s = 14, z = Phi^-1(36/50) = 0.582842.
        Assert.Equal(0.582842, ClientAttack.AlieZ(50, 12), 4);
    }

    [Fact]
    public void The_malicious_clients_are_a_seeded_choice_of_the_given_count()
    {
        var a = new ClientAttack(AttackSpec.Parse("signflip", "0.2", 100), 100, seed: 1);
        var b = new ClientAttack(AttackSpec.Parse("signflip", "20", 100), 100, seed: 1);
        var c = new ClientAttack(AttackSpec.Parse("signflip", "20", 100), 100, seed: 2);
        Assert.Equal(20, a.Malicious.Length);
        Assert.Equal(a.Malicious, b.Malicious);
        Assert.NotEqual(a.Malicious, c.Malicious);
        Assert.Equal(1.0, AttackSpec.Parse("signflip", "1", 10).Parameter);
    }

    [Theory]
    [InlineData("signflip:-2", "0.2", "signflip:K needs a positive scale K")]
    [InlineData("scale", "0.2", "scale:K needs a positive factor K")]
    [InlineData("backdoor", "0.2", "--attack 'backdoor' is unknown")]
    [InlineData("signflip:4", "0", "--malicious 0: a count must be from 1")]
    [InlineData("signflip:4", "1.5", "must be a fraction in (0, 1)")]
    [InlineData("signflip:4", "101", "a count must be from 1 to the 100 clients")]
    [InlineData("signflip:4", "0.001", "rounds to no malicious client")]
    public void Refuses_bad_attacks_and_shares(string attack, string malicious, string expected) =>
        Assert.Contains(expected, Assert.Throws<TrainingException>(() => AttackSpec.Parse(attack, malicious, 100)).Message);
}
