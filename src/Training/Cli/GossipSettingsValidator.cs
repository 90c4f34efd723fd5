using AllReduceNet.Training.Strategies.Gossip;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// The gossip strategy's part of <see cref="SettingsValidator"/>: checks --topology (and builds the graph, so an
/// unknown name, a K too large, a rank count with no torus or a disconnected random draw is refused before any rank
/// starts), --gossip-every, --gossip-async and --gossip-staleness, and refuses them with the other strategies.
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
        return new GossipSettings(topology, every, options.GossipAsync, staleness);
    }
}
