using System.Globalization;
using AllReduceNet.Training.Federated;
using AllReduceNet.Training.Strategies.Gossip;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// The gossip strategy's part of <see cref="SettingsValidator"/>: checks --topology (and builds the graph, so an
/// unknown name, a K too large, a rank count with no torus or a disconnected random draw is refused before any rank
/// starts), --gossip-every, --gossip-async and --gossip-staleness, and refuses them with the other strategies; and
/// --attack with --malicious, counted among the ranks (<see cref="GossipAttack"/>).
/// </summary>
internal static class GossipSettingsValidator
{
    public const string DefaultTopology = "ring";
    public const int DefaultStaleness = 2;

    /// <returns>The gossip settings, or null when <paramref name="strategy"/> is not gossip.</returns>
    public static GossipSettings? Validate(TrainOptions options, StrategyKind strategy, int ranks, int seed)
    {
        if (strategy != StrategyKind.Gossip)
        {
            foreach (var (name, given) in new (string, bool)[]
            {
                ("--topology", options.Topology is not null), ("--gossip-every", options.GossipEvery is not null),
                ("--gossip-async", options.GossipAsync), ("--gossip-staleness", options.GossipStaleness is not null),
            })
                if (given) throw new TrainingException($"{name} applies to --strategy gossip only.");
            return null;
        }
        int every = options.GossipEvery ?? 1;
        if (every < 1) throw new TrainingException($"--gossip-every must be at least 1, but was {every}.");
        if (options.GossipStaleness is not null && !options.GossipAsync)
            throw new TrainingException("--gossip-staleness applies with --gossip-async only (synchronous gossip is never stale).");
        int staleness = options.GossipStaleness ?? DefaultStaleness;
        if (staleness < 0) throw new TrainingException($"--gossip-staleness must be at least 0, but was {staleness}.");
        var topology = GossipTopology.Create(options.Topology ?? DefaultTopology, ranks, seed);
        return new GossipSettings(topology, every, options.GossipAsync, staleness, Attack(options, ranks));
    }

    /// <summary>--attack and --malicious for gossip: an attack on the local step, and at least one honest rank.</summary>
    private static AttackSpec? Attack(TrainOptions options, int ranks)
    {
        if (options.Attack is null && options.Malicious is null) return null;
        if (options.Attack is null) throw new TrainingException("--malicious needs --attack: gossip's attacks are signflip[:S], scale:K or gaussian[:S].");
        if (options.Malicious is null) throw new TrainingException("--attack needs --malicious M: the fraction (e.g. 0.3) or number (e.g. 3) of the ranks that attack.");
        string noHonest = $"--malicious {options.Malicious} of {ranks} ranks leaves no honest rank; gossip under attack reports the honest ranks' model, so at most {ranks - 1}.";
        if (int.TryParse(options.Malicious.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count >= ranks)
            throw new TrainingException(noHonest);
        var spec = AttackSpec.Parse(options.Attack, options.Malicious, ranks);
        if (spec.Kind is AttackKind.LabelFlip or AttackKind.Alie)
            throw new TrainingException($"--attack {options.Attack} does not apply to --strategy gossip: its ranks train on shards of one global batch, not on data of their own (labelflip), and no rank sees the others' steps (alie); use signflip[:S], scale:K or gaussian[:S], which poison the attacker's own local steps (docs/gossip.md).");
        if (spec.MaliciousClients >= ranks) throw new TrainingException(noHonest);
        return spec;
    }
}
