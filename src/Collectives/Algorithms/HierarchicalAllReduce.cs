using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// AllReduce for ranks on several nodes, as NCCL and Horovod do it: the slow link between nodes carries only what it
/// must. Vocabulary: a <em>node</em> is a set of ranks that share memory (MPI_Comm_split_type(MPI_COMM_TYPE_SHARED));
/// L is the ranks per node; a <em>shard</em> is 1/L of the buffer.
/// <list type="number">
/// <item>Inside each node, the ring's reduce-scatter: local rank i ends with shard i reduced over its node (under MPI
/// through the shared-memory channel).</item>
/// <item>Across nodes, the ranks with the same local rank (one per node, all holding shard i) run a ring AllReduce
/// of that shard: each rank sends 2(M-1)/M of a shard over the network, M nodes.</item>
/// <item>Inside each node, the ring's all-gather: every rank ends with every shard.</item>
/// </list>
/// Each shard's final value is computed once, by the ring across nodes (which reduces each chunk once and copies it),
/// from node sums that were each computed once: every rank ends bitwise identical. The order of the sum differs from
/// the flat ring's, so the two may differ in the last bits (like ring and tree).
/// <para>
/// Unlike the other algorithms this one is a composition of collectives on two sub-communicators (split once, kept
/// by <see cref="NodeTopology"/>), not of point-to-point primitives on one.
/// </para>
/// </summary>
internal static unsafe class HierarchicalAllReduce
{
    /// <summary>AllReduce in place over <paramref name="comm"/> with <typeparamref name="TOp"/> (Average arrives as Sum; the caller divides).</summary>
    public static void Run<T, TOp>(Communicator comm, in CollectiveCall worldCall, T* data, long count, ReduceOp op, CollectiveOptions options)
        where T : unmanaged, System.Numerics.INumber<T> where TOp : struct, IReduceOperator<T>
    {
        var topology = comm.Topology;
        var (node, across) = topology.Groups(comm);
        // One deadline for the three phases: what is left of the world call's timeout.
        var inner = options with { Algorithm = AllReduceAlgorithm.Ring, Timeout = worldCall.Deadline.Remaining(worldCall.Timeout) };
        var shards = new ChunkLayout(count, node.Size);

        NodePhase<T, TOp>(node, data, count, shards, inner, reduceScatter: true);
        long offset = shards.Offset(node.Rank), length = shards.Length(node.Rank);
        across.AllReduceCore(data + offset, data + offset, length, op == ReduceOp.Average ? ReduceOp.Sum : op, inner);
        NodePhase<T, TOp>(node, data, count, shards, inner with { Timeout = worldCall.Deadline.Remaining(worldCall.Timeout) }, reduceScatter: false);
    }

    private static void NodePhase<T, TOp>(Communicator node, T* data, long count, ChunkLayout shards, CollectiveOptions options, bool reduceScatter)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        if (node.Size == 1) return;
        var call = new CollectiveCall(node, CollectiveKind.AllReduceHierarchical, ElementTypes.Of<T>(), null, count, options);
        try
        {
            RingPipeline.Run<T, TOp>(call, data, shards, reduceScatter, allGather: !reduceScatter);
        }
        catch (Exception error)
        {
            call.NotifyPeersOfFailure(error);
            throw;
        }
    }
}
