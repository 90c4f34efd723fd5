namespace AllReduceNet.Collectives;

/// <summary>
/// Auto's choice between recursive doubling, tree, ring and direct AllReduce: a cost model in the style of NCCL's
/// tuning tables. Recursive doubling takes the fewest steps (log2 N) but moves the whole buffer in each; the tree
/// takes 2 log2 N steps; the ring moves the fewest bytes per rank (2(N-1)/N of the buffer) in the most steps. So
/// recursive doubling wins for the smallest messages, the tree up to a crossover size that grows with N, the ring
/// above. Where the ranks share an address space (in-process) and there are more than two, the direct AllReduce
/// takes the ring's place: it reads and writes each byte once, between three barriers. The crossovers are the ones
/// measured with the sweep tool (benchmarks/RESULTS.md); ALLREDUCENET_TREE_THRESHOLD_BYTES overrides them,
/// ALLREDUCENET_ALGO forces an algorithm.
/// </summary>
public static class AlgorithmSelector
{
    /// <summary>
    /// The algorithm Auto picks for <paramref name="bytes"/> bytes over <paramref name="ranks"/> ranks, and why;
    /// <paramref name="sharedAddressSpace"/>: the ranks can read each other's buffers (the in-process transport).
    /// </summary>
    public static AllReduceAlgorithm Choose(long bytes, int ranks, out string reason, bool sharedAddressSpace = false)
    {
        var choice = Choose(bytes, ranks, sharedAddressSpace);
        reason = Explain(choice, bytes, ranks);
        return choice;
    }

    /// <summary>
    /// The same choice without the explanation: the per-call path, where formatting a reason (an allocation and
    /// number formatting) cost a tenth of a 1 us AllReduce.
    /// </summary>
    public static AllReduceAlgorithm Choose(long bytes, int ranks, bool sharedAddressSpace = false)
    {
        if (EnvironmentSettings.ForcedAlgorithm is { } forced) return forced;
        if (ranks > 1 && bytes <= RecursiveDoublingThresholdBytes(ranks)) return AllReduceAlgorithm.RecursiveDoubling;
        // Two ranks: the ring is already one read and one write per byte, in two steps, and it measured ahead of direct.
        if (ranks <= 2) return AllReduceAlgorithm.Ring;
        if (bytes <= TreeThresholdBytes(ranks)) return AllReduceAlgorithm.Tree;
        return sharedAddressSpace ? AllReduceAlgorithm.Direct : AllReduceAlgorithm.Ring;
    }

    private static string Explain(AllReduceAlgorithm choice, long bytes, int ranks)
    {
        if (EnvironmentSettings.ForcedAlgorithm is { } forced) return $"ALLREDUCENET_ALGO={forced.ToString().ToLowerInvariant()}";
        return choice switch
        {
            AllReduceAlgorithm.RecursiveDoubling => $"{bytes} B <= recursive-doubling threshold {RecursiveDoublingThresholdBytes(ranks)} B for {ranks} ranks",
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
    /// ALLREDUCENET_RD_THRESHOLD_BYTES overrides it.
    /// </summary>
    public static long RecursiveDoublingThresholdBytes(int ranks)
    {
        if (EnvironmentSettings.RecursiveDoublingThresholdBytes is { } fromEnvironment) return fromEnvironment;
        return 16 * 1024;
    }

    /// <summary>Messages up to this many bytes (and above the recursive-doubling threshold) use the tree under Auto, for a world of <paramref name="ranks"/>.</summary>
    public static long TreeThresholdBytes(int ranks)
    {
        if (EnvironmentSettings.TreeThresholdBytes is { } fromEnvironment) return fromEnvironment;
        // Measured crossovers (benchmarks/RESULTS.md, "Auto's crossovers"): about 32 KiB per rank beyond two
        // (8 ranks: the tree ahead up to 128 to 256 KiB; 4 ranks: a tie with the ring at 32 to 64 KiB).
        return ranks <= 2 ? 0 : 32L * 1024 * (ranks - 2);
    }
}
