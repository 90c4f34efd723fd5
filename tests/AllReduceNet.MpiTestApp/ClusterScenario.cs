using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Algorithms;
using AllReduceNet.Collectives.Suite;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// The collective suite for a job across hosts (scripts/cluster): the AllReduce matrix of ring, hierarchical, Auto and
/// MPI's own (<see cref="CaseMatrix.AcrossNodes"/>), large hierarchical and ring cases, and what the topology must be:
/// the nodes MPI_Comm_split_type reports, Auto's choice, and the shared-memory channel inside each node only. Rank 0
/// prints a summary line.
/// </summary>
internal sealed class ClusterScenario(Communicator world, int largeCount)
{
    private readonly Tally _tally = new(world.Rank);

    public int Run()
    {
        var topology = world.Topology;
        Console.WriteLine($"rank {world.Rank}: host {Environment.MachineName}, node {topology.Node} (local rank {topology.LocalRank}) of {topology.Describe()}, transport '{world.TransportName}'");
        _tally.Check(!world.TransportName.Contains("shared memory"), $"the world's collectives must not use the shared-memory channel across hosts: '{world.TransportName}'");

        foreach (var c in CaseMatrix.AcrossNodes(world.Size, SuiteTransport.Mpi)
                     .Concat(CaseMatrix.Large(AllReduceAlgorithm.Hierarchical, largeCount))
                     .Concat(CaseMatrix.Large(AllReduceAlgorithm.Ring, largeCount)))
        {
            var failure = CaseRunner.Run(world, c);
            _tally.Check(failure is null, failure ?? "");
        }

        // After the hierarchical cases the node and across-nodes groups exist: inside a node shared memory, across not.
        var (node, across) = topology.Groups(world);
        bool multiNode = topology.Nodes > 1;
        _tally.Check(!multiNode || node.Size == 1 || node.TransportName.Contains("shared memory"), $"the node group's transport is '{node.TransportName}', expected the shared-memory channel");
        _tally.Check(across.Size == 1 || !across.TransportName.Contains("shared memory"), $"the across-nodes group's transport is '{across.TransportName}'");
        var auto = AllReduceAlgorithms.Choose(1 << 20, world.Size, direct: false, topology.FavoursHierarchical);
        // The segment each group pipelines with when nothing sets one: across nodes the TCP default, inside one the
        // shared-memory channel's.
        int worldSegment = world.SegmentBytes(new CollectiveOptions()), nodeSegment = node.SegmentBytes(new CollectiveOptions());
        _tally.Check(!multiNode || worldSegment == MpiTransport.CrossNodeSegmentBytes, $"the world's segment is {worldSegment} bytes across {topology.Describe()}, expected {MpiTransport.CrossNodeSegmentBytes}");
        _tally.Check(!topology.FavoursHierarchical || auto == AllReduceAlgorithm.Hierarchical, $"Auto chose {auto} for 1 MiB across {topology.Describe()}");

        long[] totals = [_tally.Failures, _tally.Checks];
        world.AllReduce<long>(totals, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Native });
        if (world.Rank == 0)
        {
            Console.WriteLine($"MPI CLUSTER nodes={topology.Nodes} layout='{topology.Describe()}' transport='{world.TransportName}' node-transport='{node.TransportName}' " +
                              $"auto-1MiB={auto} segment={worldSegment} node-segment={nodeSegment} ranks={world.Size} checks={totals[1]} failures={totals[0]}");
            Console.WriteLine(totals[0] == 0 ? "MPI CLUSTER PASSED" : "MPI CLUSTER FAILED");
        }
        return (int)totals[0];
    }
}
