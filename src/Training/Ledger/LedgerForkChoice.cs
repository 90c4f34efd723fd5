namespace AllReduceNet.Training.Ledger;

/// <summary>
/// The fork choice rule every honest peer applies alike (docs/ledger.md, "Forks"): of two valid chains from the same
/// genesis, the one with more quorum blocks wins (blocks whose aggregate holds contributors, so a verifier quorum signed
/// them and t aggregators built them; an empty block, appended when no valid block arrived by a deadline, carries
/// none); at equal weight, the chain whose first block after the common ancestor has the lower hash wins. This is
/// Biscotti's longest-chain rule with length counted in blocks that carry work, and a total order, so peers that see
/// the same chains choose the same one.
/// </summary>
internal static class LedgerForkChoice
{
    /// <summary>Blocks after genesis whose aggregate holds at least one contributor.</summary>
    public static int Weight(IReadOnlyList<LedgerBlock> chain) => chain.Skip(1).Count(b => b.Contributors.Length > 0);

    /// <summary>The round of the last block both chains hold (0 at least: they share genesis).</summary>
    public static long CommonAncestor(IReadOnlyList<byte[]> a, IReadOnlyList<byte[]> b)
    {
        int last = 0;
        for (int i = 1; i < Math.Min(a.Count, b.Count) && a[i].AsSpan().SequenceEqual(b[i]); i++) last = i;
        return last;
    }

    /// <summary>True when <paramref name="candidate"/> wins over <paramref name="current"/> (two different chains).</summary>
    public static bool Prefers(IReadOnlyList<LedgerBlock> candidate, IReadOnlyList<LedgerBlock> current)
    {
        int weightCandidate = Weight(candidate), weightCurrent = Weight(current);
        if (weightCandidate != weightCurrent) return weightCandidate > weightCurrent;
        var hashesCandidate = candidate.Select(b => b.Hash).ToArray();
        var hashesCurrent = current.Select(b => b.Hash).ToArray();
        int fork = (int)CommonAncestor(hashesCandidate, hashesCurrent) + 1;
        // A chain that is a prefix of the other carries no less weight only if the rest is empty blocks: keep the longer.
        if (fork >= hashesCandidate.Length || fork >= hashesCurrent.Length) return hashesCandidate.Length > hashesCurrent.Length;
        return hashesCandidate[fork].AsSpan().SequenceCompareTo(hashesCurrent[fork]) < 0;
    }
}
