namespace AllReduceNet.Collectives;

/// <summary>
/// How a communicator's ranks sit on nodes, as the transport reports it (<see cref="ITransport.NodeOfRank"/>), and the
/// two sub-communicators the hierarchical AllReduce runs on: the ranks of this rank's node, and the ranks of every
/// node that have this rank's position inside their node ("the same shard").
/// </summary>
internal sealed class NodeTopology : IDisposable
{
    private Communicator? _node;
    private Communicator? _across;

    private NodeTopology(int[] nodeOfRank, int rank)
    {
        NodeOfRank = nodeOfRank;
        Nodes = nodeOfRank.Max() + 1;
        var perNode = new int[Nodes];
        foreach (int node in nodeOfRank) perNode[node]++;
        RanksPerNode = perNode;
        Node = nodeOfRank[rank];
        LocalRank = nodeOfRank.Take(rank).Count(n => n == Node);
    }

    /// <summary>The topology of <paramref name="transport"/>'s group; a single node when the transport cannot tell.</summary>
    public static NodeTopology Of(ITransport transport) =>
        new(transport.NodeOfRank ?? new int[transport.Size], transport.Rank);

    /// <summary>Node of each rank.</summary>
    public int[] NodeOfRank { get; }

    /// <summary>How many nodes the ranks span.</summary>
    public int Nodes { get; }

    /// <summary>Ranks on each node.</summary>
    public int[] RanksPerNode { get; }

    /// <summary>This rank's node.</summary>
    public int Node { get; }

    /// <summary>This rank's position among its node's ranks (in rank order).</summary>
    public int LocalRank { get; }

    /// <summary>Every node runs the same number of ranks, so position i holds shard i everywhere.</summary>
    public bool Uniform => RanksPerNode.All(n => n == RanksPerNode[0]);

    /// <summary>More than one node, more than one rank on each, the same number on each: where Auto picks the hierarchical AllReduce.</summary>
    public bool FavoursHierarchical => Nodes > 1 && Uniform && RanksPerNode[0] > 1;

    /// <summary>"2 nodes x 2 ranks" or "3 nodes of 1, 2, 1 ranks", for messages.</summary>
    public string Describe() => Uniform
        ? $"{Nodes} node{(Nodes == 1 ? "" : "s")} x {RanksPerNode[0]} rank{(RanksPerNode[0] == 1 ? "" : "s")}"
        : $"{Nodes} nodes of {string.Join(", ", RanksPerNode)} ranks";

    /// <summary>
    /// The node's communicator and the across-nodes communicator, split from <paramref name="comm"/> at the first
    /// hierarchical call (collective: every rank of <paramref name="comm"/> makes that call, so every rank splits).
    /// </summary>
    public (Communicator Node, Communicator Across) Groups(Communicator comm)
    {
        if (_node is null || _across is null)
        {
            _node = comm.Split(Node, comm.Rank)!;
            _across = comm.Split(LocalRank, Node)!;
            _node.DefaultTimeout = comm.DefaultTimeout;
            _across.DefaultTimeout = comm.DefaultTimeout;
        }
        return (_node, _across);
    }

    public void Dispose()
    {
        _node?.Dispose();
        _across?.Dispose();
    }
}
