using AllReduceNet.Collectives;
using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// --secure-groups G with --secure-aggregation and a robust --aggregator: robust rules need each plain update and
/// secure aggregation hides them, so each round's sampled clients are cut into random groups of about G (a seeded
/// shuffle per round; floor(K / G) groups whose sizes differ by at most one), each group's sum is made by the secure
/// protocol (<see cref="SecureUpdateAggregator"/> over the group's <see cref="RoundPlan.Subset"/>), and the robust rule
/// runs over the groups' mean deltas, weighted by the groups' sample counts. The server learns each group's sum, not
/// any client's update; one malicious client poisons its whole group's mean, so f malicious clients can spoil up to f
/// of the K / G group means, and the rule's f counts groups. A group whose protocol aborts is left out of the round.
/// </summary>
internal sealed class GroupedSecureAggregator : IUpdateAggregator
{
    private readonly IRobustRule _rule;
    private readonly int _groupSize, _seed;
    private readonly Dictionary<int, SecureUpdateAggregator> _bySize = [];

    /// <param name="rule">The robust rule over the group means.</param>
    /// <param name="options">The validated --secagg-* options (the threshold default is half of each group plus one).</param>
    /// <param name="groupSize">G, at least 2.</param>
    /// <param name="clientsPerRound">K: the groups are floor(K / G) of sizes G to (K / floor(K / G)) rounded up.</param>
    /// <param name="maxClientSamples">The largest client's sample count (the fixed-point range).</param>
    /// <param name="vectorLength">P + 1.</param>
    /// <param name="seed">The run's seed.</param>
    /// <exception cref="TrainingException">A group size's secure settings could overflow or do not fit (from <see cref="SecureAggregationOptions.CreateSettings"/>).</exception>
    public GroupedSecureAggregator(IRobustRule rule, SecureAggregationOptions options, int groupSize, int clientsPerRound, int maxClientSamples, int vectorLength, int seed)
    {
        _rule = rule;
        _groupSize = groupSize;
        _seed = seed;
        foreach (int size in GroupSizes(clientsPerRound, groupSize).Distinct())
            _bySize[size] = new SecureUpdateAggregator(options, options.CreateSettings(size, maxClientSamples, vectorLength), seed);
    }

    public string Name => $"robust {_rule.Name} over secure sums of groups of {_groupSize} ({_bySize.Values.First().Name})";

    /// <summary>The group sizes of a round of <paramref name="clients"/>: floor(clients / size) groups, sizes differing by at most one.</summary>
    public static int[] GroupSizes(int clients, int size)
    {
        int groups = Math.Max(clients / size, 1);
        return Enumerable.Range(0, groups).Select(g => clients / groups + (g < clients % groups ? 1 : 0)).ToArray();
    }

    /// <summary>The positions in the round's sampled list of each group (a seeded shuffle of round <paramref name="round"/>).</summary>
    public static int[][] Groups(int seed, int round, int clients, int size)
    {
        var positions = Enumerable.Range(0, clients).ToArray();
        FederatedRandom.For(seed, FederatedRandom.Purpose.SecureGroups, round).Shuffle(positions);
        var groups = new List<int[]>();
        int start = 0;
        foreach (int length in GroupSizes(clients, size))
        {
            groups.Add(positions[start..(start + length)]);
            start += length;
        }
        return [.. groups];
    }

    public AggregatedUpdate? Aggregate(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength)
    {
        var inputs = new List<(int[] Clients, float[] Vector)>();
        var aborts = new List<string>();
        var rejected = new List<int>();
        double bytes = 0;
        int reporting = 0;
        foreach (var positions in Groups(_seed, plan.Round, plan.Sampled.Count, _groupSize))
        {
            var group = plan.Subset(positions);
            var members = group.Sampled.ToHashSet();
            var mine = local.Where(u => members.Contains(u.Client)).ToList();
            // Every rank takes part in every group's protocol (it relays its clients' messages, or none).
            var sum = _bySize[group.Sampled.Count].Aggregate(world, group, mine, vectorLength);
            if (world.Rank != 0) continue;
            var reporters = Enumerable.Range(0, group.Sampled.Count).Where(group.Reports).Select(p => group.Sampled[p]).ToArray();
            reporting += reporters.Length;
            bytes += sum!.BytesSentPerClient * reporters.Length;
            if (sum.Sum is { } vector) inputs.Add((reporters, vector));
            else
            {
                aborts.Add($"group of {string.Join(",", group.Sampled)}: {sum.AbortReason}");
                rejected.AddRange(reporters);
            }
        }
        if (world.Rank != 0) return null;
        double perClient = reporting > 0 ? bytes / reporting : 0;
        var result = RobustUpdateAggregator.Combine(_rule, inputs, perClient);
        if (aborts.Count > 0 && result.Sum is not null)
            return result with { Rejected = [.. result.Rejected!.Concat(rejected).Order()] };
        if (aborts.Count > 0)
            return AggregatedUpdate.Abort($"{result.AbortReason}; {string.Join("; ", aborts)}", perClient) with { Rejected = [.. rejected.Order()], DownWeighted = [] };
        return result;
    }

    public void Dispose()
    {
        foreach (var aggregator in _bySize.Values) aggregator.Dispose();
    }
}
