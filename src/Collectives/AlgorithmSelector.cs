namespace AllReduceNet.Collectives;

/// <summary>
/// Auto's choice between ring and tree AllReduce: a cost model in the style of NCCL's tuning tables. The tree takes
/// fewer steps (2 log2 N against 2(N-1)), the ring moves fewer bytes per rank (2(N-1)/N of the buffer against 2x),
/// so the tree wins below a crossover size that grows with N. The crossovers are the ones measured with the sweep
/// tool (benchmarks/RESULTS.md); ALLREDUCENET_TREE_THRESHOLD_BYTES overrides them, ALLREDUCENET_ALGO forces an algorithm.
/// </summary>
public static class AlgorithmSelector
{
    /// <summary>The algorithm Auto picks for <paramref name="bytes"/> bytes over <paramref name="ranks"/> ranks, and why.</summary>
    public static AllReduceAlgorithm Choose(long bytes, int ranks, out string reason)
    {
        if (EnvironmentSettings.ForcedAlgorithm is { } forced)
        {
            reason = $"ALLREDUCENET_ALGO={forced.ToString().ToLowerInvariant()}";
            return forced;
        }
        if (ranks <= 2)
        {
            reason = "2 ranks or fewer: the ring sends half the bytes of the tree in as many steps";
            return AllReduceAlgorithm.Ring;
        }
        long threshold = TreeThresholdBytes(ranks);
        if (bytes <= threshold)
        {
            reason = $"{bytes} B <= tree threshold {threshold} B for {ranks} ranks";
            return AllReduceAlgorithm.Tree;
        }
        reason = $"{bytes} B > tree threshold {threshold} B for {ranks} ranks";
        return AllReduceAlgorithm.Ring;
    }

    /// <summary>Messages up to this many bytes use the tree under Auto, for a world of <paramref name="ranks"/>.</summary>
    public static long TreeThresholdBytes(int ranks)
    {
        if (EnvironmentSettings.TreeThresholdBytes is { } fromEnvironment) return fromEnvironment;
        // Measured crossovers (benchmarks/RESULTS.md, "Auto crossover"): about 16 KiB per rank beyond two.
        return ranks <= 2 ? 0 : 16L * 1024 * (ranks - 2);
    }
}
