using System.Text.Json;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>Train.dll with --aggregator, --attack and --secure-groups end to end on synthetic data, and the refusals.</summary>
public class RobustTrainingTests
{
    private const string Attacked = "--synthetic 600 --layers 12,16,3 --device cpu --quiet --clients 20 --local-batch 8 --lr 0.1 " +
        "--clients-per-round 10 --ranks 2 --strategy fedavg --attack signflip:4 --malicious 0.3";

    private static List<JsonElement> Train(string args, int rounds = 6)
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        var error = new StringWriter();
        int code = TrainCommand.Run([.. $"{args} --rounds {rounds} --log-json {log} --no-checkpoint".Split(' ', StringSplitOptions.RemoveEmptyEntries)], TextWriter.Null, error);
        Assert.True(code == 0, $"Train exited with {code}: {error}");
        return File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    private static int[] Ids(JsonElement record, string name) =>
        record.TryGetProperty(name, out var ids) ? ids.EnumerateArray().Select(i => i.GetInt32()).ToArray() : [];

    [Fact]
    public void Sign_flipping_attackers_break_the_plain_mean_while_median_and_multi_krum_hold()
    {
        double mean = Train(Attacked)[^1].GetProperty("test_accuracy").GetDouble();
        var median = Train($"{Attacked} --aggregator median");
        var krum = Train($"{Attacked} --aggregator multikrum:3,4");
        Assert.True(mean < 0.5, $"the plain mean reached {mean:P1} under 30% sign-flip x4 attackers");
        Assert.True(median[^1].GetProperty("test_accuracy").GetDouble() > 0.85, "median did not hold");
        Assert.True(krum[^1].GetProperty("test_accuracy").GetDouble() > 0.85, "multi-Krum did not hold");
        // The log names the malicious clients of each round and what the rule did with them.
        foreach (var record in krum)
        {
            var malicious = Ids(record, "malicious");
            Assert.NotEmpty(malicious);
            Assert.Subset(Ids(record, "rejected").ToHashSet(), malicious.ToHashSet());
            Assert.Equal(6, Ids(record, "rejected").Length);
        }
        Assert.Contains(median, r => Ids(r, "down_weighted").Intersect(Ids(r, "malicious")).Any());
    }

    [Fact]
    public void Label_flipping_clients_train_on_flipped_labels()
    {
        var clean = Train(Attacked.Replace("--attack signflip:4 --malicious 0.3", ""), rounds: 3);
        var flipped = Train(Attacked.Replace("signflip:4", "labelflip").Replace("0.3", "0.8"), rounds: 3);
        Assert.True(flipped[^1].GetProperty("loss").GetDouble() > clean[^1].GetProperty("loss").GetDouble() + 0.2,
            "clients whose labels were flipped should report a worse local fit of the true task");
        Assert.True(flipped[^1].GetProperty("test_accuracy").GetDouble() < clean[^1].GetProperty("test_accuracy").GetDouble());
    }

    [Fact]
    public void Secure_groups_run_end_to_end_and_reject_whole_groups()
    {
        // 10 clients in 5 groups of 2; Krum keeps one group mean and rejects the other 4 groups, both clients of each.
        var records = Train($"{Attacked} --secure-aggregation --secure-groups 2 --aggregator krum:1", rounds: 2);
        Assert.All(records, r =>
        {
            Assert.Equal(10, r.GetProperty("clients_sampled").GetInt32());
            Assert.Equal(8, Ids(r, "rejected").Length);
            Assert.Equal(2, r.GetProperty("clients_survived").GetInt32());
            Assert.True(r.GetProperty("bytes_sent_per_client").GetDouble() > 0);
        });
    }

    private const int Length = 6;

    private static ClientUpdate Small(int client)
    {
        var random = new Random(77 + client);
        int n = 5 + client;
        var vector = new float[Length];
        for (int i = 0; i < Length - 1; i++) vector[i] = n * (float)(random.NextDouble() - 0.5);
        vector[^1] = n;
        return new ClientUpdate(client, vector);
    }

    [Theory]
    [InlineData(1, "median")]
    [InlineData(3, "median")]
    [InlineData(3, "krum:1")]
    [InlineData(4, "trimmed-mean:0.2")]
    public void Group_secure_aggregation_equals_the_rule_over_the_plain_group_sums(int ranks, string rule)
    {
        var options = new SecureAggregationOptions(null, null, 1f, null, 0);
        var federated = new FederatedSettings(FederatedAlgorithm.FedAvg, 30, 16, PartitionSpec.Iid, 1, 8, 0, 1, 0, 0);
        var plan = RoundPlan.Create(federated, 5, 3, ranks);
        var results = InProcessWorld.Run(ranks, world =>
        {
            var (start, length) = plan.PositionsOf(world.Rank);
            var local = Enumerable.Range(start, length).Select(p => Small(plan.Sampled[p])).ToList();
            using var aggregator = new GroupedSecureAggregator(RobustRules.Parse(rule), options, 3, 16, 40, Length, 5);
            return aggregator.Aggregate(world, plan, local, Length);
        });
        // 16 clients in groups of 3: 5 groups, sizes 4, 3, 3, 3, 3.
        var groups = GroupedSecureAggregator.Groups(5, 3, 16, 3);
        Assert.Equal([4, 3, 3, 3, 3], groups.Select(g => g.Length));
        Assert.Equal(Enumerable.Range(0, 16), groups.SelectMany(g => g).Order());
        var inputs = groups.Select(g =>
        {
            var clients = g.Select(p => plan.Sampled[p]).Order().ToArray();
            var sum = new float[Length];
            foreach (int c in clients)
                for (int i = 0; i < Length; i++) sum[i] += Small(c).Vector[i];
            return (clients, sum);
        }).ToList();
        var expected = RobustUpdateAggregator.Combine(RobustRules.Parse(rule), inputs, 0);
        var actual = results[0]!;
        Assert.All(results.Skip(1), r => Assert.Null(r));
        Assert.Null(actual.AbortReason);
        // The secure sums differ from the plain ones by the fixed-point rounding only (2^-f per client and element).
        for (int i = 0; i < Length; i++) Assert.Equal(expected.Sum![i], actual.Sum![i], 3);
        Assert.Equal(expected.Rejected, actual.Rejected);
        Assert.Equal(expected.Contributors, actual.Contributors);
    }

    [Fact]
    public void The_parameter_server_applies_the_rule_to_the_workers_pushes()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = TrainCommand.Run([.. "--synthetic 600 --layers 12,16,3 --device cpu --strategy ps --sync --servers 1 --ranks 6 --epochs 2 --batch-size 50 --lr 0.1 --aggregator krum:1 --no-checkpoint".Split(' ')],
            output, error);
        Assert.True(code == 0, $"Train exited with {code}: {error}");
        // 5 workers, Krum keeps one push per step: 4 rejected in each of the 2 x 600 / 50 = 24 steps.
        Assert.Contains("robust krum:1 over the 5 workers' pushes: 96 pushes rejected and 0 down-weighted in 24 server steps", output.ToString());
    }

    [Theory]
    [InlineData("--strategy ps --servers 1 --ranks 4 --aggregator krum:1", "--aggregator krum:1 needs n >= 5 updates per round (n >= 2f + 3 = 5 for f = 1), but n = 3 workers")]
    [InlineData("--strategy ps --servers 1 --async --aggregator median", "--aggregator applies to --strategy ps --sync only")]
    [InlineData("--strategy fedavg --aggregator krum:2 --clients-per-round 6", "--aggregator krum:2 needs n >= 7 updates per round (n >= 2f + 3 = 7 for f = 2), but n = 6 clients per round")]
    [InlineData("--strategy fedavg --aggregator bulyan:2 --clients-per-round 10", "--aggregator bulyan:2 needs n >= 11 updates per round (n >= 4f + 3 = 11 for f = 2), but n = 10")]
    [InlineData("--strategy fedavg --aggregator multikrum:2,9 --clients-per-round 10", "needs n >= 11")]
    [InlineData("--strategy fedavg --aggregator trimmed-mean:0.2 --clients-per-round 4", "floor(beta n) >= 1")]
    [InlineData("--strategy fedavg --aggregator krum:1 --secure-aggregation", "add --secure-groups G")]
    [InlineData("--strategy fedavg --aggregator krum:1 --secure-aggregation --secure-groups 3 --clients-per-round 12", "n = 4 groups per round")]
    [InlineData("--strategy fedavg --secure-groups 2 --aggregator median", "--secure-groups needs --secure-aggregation")]
    [InlineData("--strategy fedavg --secure-groups 1 --aggregator median --secure-aggregation", "at least 2 clients per group")]
    [InlineData("--strategy fedavg --attack signflip:4", "--attack needs --malicious")]
    [InlineData("--strategy fedavg --malicious 0.2", "--malicious needs --attack")]
    [InlineData("--strategy fedavg --attack signflip:4 --malicious 0", "--malicious 0: a count must be from 1")]
    [InlineData("--strategy fedavg --aggregator krum:x", "krum needs f")]
    [InlineData("--strategy ddp --aggregator median", "--aggregator applies to the federated strategies only")]
    [InlineData("--strategy fedavg --aggregator median --client-dp --client-dp-noise 1", "--client-dp cannot be combined with --aggregator median")]
    [InlineData("--strategy ps --servers 1 --attack signflip --malicious 1", "--attack applies to the federated strategies only")]
    [InlineData("--strategy ps --servers 1 --aggregator krum:1 --secure-groups 2", "--secure-groups applies to the federated strategies only")]
    public void Bad_robust_settings_are_refused_before_training(string args, string expected) =>
        RefusedArguments.AssertRefused($"--synthetic 600 --layers 12,16,3 {(args.Contains("--ranks") ? "" : "--ranks 2 ")}{args}", expected);
}
