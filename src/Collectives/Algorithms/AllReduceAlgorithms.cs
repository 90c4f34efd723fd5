namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The one place that turns an <see cref="AllReduceAlgorithm"/> into what runs: Auto's choice (a cost model in the
/// style of NCCL's tuning tables), the checks that the transport has what the algorithm needs, and the signature kind
/// its messages carry.
/// <para>
/// Recursive doubling takes the fewest steps (log2 N) but moves the whole buffer in each; the tree takes 2 log2 N
/// steps; the ring moves the fewest bytes per rank (2(N-1)/N of the buffer) in the most steps. So recursive doubling
/// wins for the smallest messages, the tree up to a crossover size that grows with N, the ring above. Where the ranks
/// share an address space (the primitives' "direct" capability) and there are more than two, the direct AllReduce
/// takes the ring's place: it reads and writes each byte once, between three barriers. The crossovers are the ones
/// measured with the sweep tool (benchmarks/RESULTS.md); ALLREDUCENET_RD_THRESHOLD_BYTES and
/// ALLREDUCENET_TREE_THRESHOLD_BYTES override them, ALLREDUCENET_ALGO forces an algorithm.
/// </para>
/// </summary>
internal static class AllReduceAlgorithms
{
    /// <summary>
    /// The algorithm this call runs: the one asked for, or Auto's choice; logged with the reason under
    /// ALLREDUCENET_DEBUG=1. Throws <see cref="NotSupportedException"/> (before the call is numbered, so nothing was
    /// sent) when the transport lacks what the algorithm needs.
    /// </summary>
    public static AllReduceAlgorithm Resolve<T>(AllReduceAlgorithm requested, Communicator comm, long count, ReduceOp op) where T : unmanaged
    {
        long bytes = count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        var type = ElementTypes.Of<T>();
        var transport = comm.Transport;
        bool direct = transport.PeerBuffers is not null;
        var topology = comm.Topology;
        var algorithm = requested == AllReduceAlgorithm.Auto ? Choose(bytes, comm.Size, direct, topology.FavoursHierarchical) : requested;
        if (EnvironmentSettings.Current.Debug)
        {
            string reason = requested == AllReduceAlgorithm.Auto ? Explain(algorithm, bytes, comm.Size, topology) : "forced by the options";
            Console.Error.WriteLine($"[allreducenet] rank {comm.Rank}/{comm.Size} AllReduce call #{comm.PeekNextCollectiveCall()}: {count} x {ElementTypes.NameOf<T>()} ({bytes} B) {op}: {algorithm} ({reason})");
        }
        if (algorithm == AllReduceAlgorithm.Direct && !direct)
            throw new NotSupportedException(
                $"rank {comm.Rank}: the direct AllReduce reads the other ranks' buffers, which only ranks in one address space (the in-process transport) can; the {transport.Name} transport cannot. Use Ring, Tree, RecursiveDoubling or Auto.");
        if (algorithm == AllReduceAlgorithm.Hierarchical && !topology.Uniform)
            throw new NotSupportedException(
                $"rank {comm.Rank}: the hierarchical AllReduce needs the same number of ranks on every node, but the {comm.Size} ranks sit on {topology.Describe()}; " +
                "use Ring or Auto, or start as many ranks on each node.");
        if (algorithm == AllReduceAlgorithm.Native)
        {
            var native = transport.Native ?? throw new NotSupportedException(
                $"rank {comm.Rank}: the {transport.Name} transport has no native AllReduce; use Ring, Tree or Auto (ALLREDUCENET_ALGO=native asks for it).");
            if (!native.SupportsAllReduce(type, op == ReduceOp.Average ? ReduceOp.Sum : op))
                throw new NotSupportedException($"rank {comm.Rank}: the {transport.Name} library cannot reduce {ElementTypes.NameOf<T>()} with {op}; use Ring, Tree or Auto.");
        }
        return algorithm;
    }

    /// <summary>The signature kind an algorithm's messages carry, so ranks that chose differently are told so.</summary>
    public static CollectiveKind KindOf(AllReduceAlgorithm algorithm) => algorithm switch
    {
        AllReduceAlgorithm.Tree => CollectiveKind.AllReduceTree,
        AllReduceAlgorithm.RecursiveDoubling => CollectiveKind.AllReduceRecursiveDoubling,
        AllReduceAlgorithm.Direct => CollectiveKind.AllReduceDirect,
        AllReduceAlgorithm.Native => CollectiveKind.AllReduceNative,
        AllReduceAlgorithm.Hierarchical => CollectiveKind.AllReduceHierarchical,
        AllReduceAlgorithm.RecursiveHalving => CollectiveKind.AllReduceRecursiveHalving,
        _ => CollectiveKind.AllReduceRing,
    };

    /// <summary>
    /// Auto's choice for <paramref name="bytes"/> bytes over <paramref name="ranks"/> ranks; <paramref name="direct"/>:
    /// they can read each other's buffers; <paramref name="hierarchical"/>: they span several nodes with the same
    /// number (more than one) on each, where the hierarchical AllReduce takes the ring's place above the
    /// recursive-doubling threshold (it sends 1/L of the ring's bytes over the network, L ranks per node).
    /// </summary>
    public static AllReduceAlgorithm Choose(long bytes, int ranks, bool direct = false, bool hierarchical = false)
    {
        if (EnvironmentSettings.Current.ForcedAlgorithm is { } forced) return forced;
        if (ranks > 1 && bytes <= RecursiveDoublingThresholdBytes) return AllReduceAlgorithm.RecursiveDoubling;
        if (hierarchical) return AllReduceAlgorithm.Hierarchical;
        // Two ranks: the ring is already one read and one write per byte, in two steps, and it measured ahead of direct.
        if (ranks <= 2) return AllReduceAlgorithm.Ring;
        if (bytes <= TreeThresholdBytes(ranks)) return AllReduceAlgorithm.Tree;
        return direct ? AllReduceAlgorithm.Direct : AllReduceAlgorithm.Ring;
    }

    /// <summary>Why Auto chose <paramref name="choice"/>, for ALLREDUCENET_DEBUG.</summary>
    public static string Explain(AllReduceAlgorithm choice, long bytes, int ranks, NodeTopology? topology = null)
    {
        if (EnvironmentSettings.Current.ForcedAlgorithm is { } forced) return $"ALLREDUCENET_ALGO={forced.ToString().ToLowerInvariant()}";
        return choice switch
        {
            AllReduceAlgorithm.RecursiveDoubling => $"{bytes} B <= recursive-doubling threshold {RecursiveDoublingThresholdBytes} B",
            AllReduceAlgorithm.Hierarchical => $"{bytes} B > recursive-doubling threshold {RecursiveDoublingThresholdBytes} B and the ranks span {topology?.Describe()}",
            AllReduceAlgorithm.Tree => $"{bytes} B <= tree threshold {TreeThresholdBytes(ranks)} B for {ranks} ranks",
            AllReduceAlgorithm.Direct => $"{bytes} B > tree threshold {TreeThresholdBytes(ranks)} B for {ranks} ranks in one address space: each rank reads every buffer directly",
            _ when ranks <= 2 => "2 ranks or fewer: the ring sends half the bytes of the tree in as many steps",
            _ => $"{bytes} B > tree threshold {TreeThresholdBytes(ranks)} B for {ranks} ranks",
        };
    }

    /// <summary>
    /// Messages up to this many bytes use recursive doubling under Auto: its log2(N) whole-buffer exchanges beat the
    /// tree's 2 log2(N) steps and the ring's 2(N-1) while the message is small. Measured with the sweep
    /// (benchmarks/RESULTS.md): ahead up to 16 KiB at 2, 4 and 8 ranks, in-process and over MPI's shared memory.
    /// </summary>
    public static long RecursiveDoublingThresholdBytes => EnvironmentSettings.Current.RecursiveDoublingThresholdBytes ?? 16 * 1024;

    /// <summary>Messages up to this many bytes (and above the recursive-doubling threshold) use the tree under Auto, for a world of <paramref name="ranks"/>.</summary>
    public static long TreeThresholdBytes(int ranks)
    {
        if (EnvironmentSettings.Current.TreeThresholdBytes is { } fromEnvironment) return fromEnvironment;
        // Measured crossovers (benchmarks/RESULTS.md, "Auto's crossovers"): about 32 KiB per rank beyond two
        // (8 ranks: the tree ahead up to 128 to 256 KiB; 4 ranks: a tie with the ring at 32 to 64 KiB).
        return ranks <= 2 ? 0 : 32L * 1024 * (ranks - 2);
    }
}
