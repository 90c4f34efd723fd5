namespace AllReduceNet.Training.Strategies.Gossip;

/// <summary>Decentralized SGD's settings: the graph, how often to mix, and the asynchronous mode.</summary>
/// <param name="Topology">The graph and its mixing matrix, already built and checked for the world size.</param>
/// <param name="Every">Mix after every H local steps (--gossip-every).</param>
/// <param name="Async">Mix with whatever neighbour replicas arrived, within <paramref name="Staleness"/> rounds (--gossip-async).</param>
/// <param name="Staleness">--gossip-async: the oldest neighbour replica mixed is this many rounds behind.</param>
/// <param name="Attack">--attack with --malicious: what the malicious ranks do to their local steps (<see cref="GossipAttack"/>); null: all honest.</param>
internal sealed record GossipSettings(GossipTopology Topology, int Every, bool Async, int Staleness, Federated.AttackSpec? Attack = null)
{
    public string Describe() =>
        $"gossip (D-PSGD, {Topology.Name}{(Every > 1 ? $", every {Every} steps" : "")}{(Async ? $", async staleness {Staleness}" : "")}{(Attack is null ? "" : $", attack {Attack}")})";
}
