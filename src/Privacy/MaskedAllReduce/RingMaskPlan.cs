using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy;

/// <summary>
/// Which of a call's masks the fused ring (<see cref="MaskedRing"/>) adds to which chunk. Either every peer's mask on
/// every element (as the unfused path does), or, where the agreed masks only protect against a single curious rank,
/// one pair's mask per chunk: that of the chunk's owner c and its first sender c + 1.
/// <para>
/// Why one pair is enough there: chunk c travels the ring from rank c + 1 to rank c, so what rank c + j receives is
/// the sum over the arc c + 1 .. c + j - 1. With masks between ring neighbours only (<c>Neighbours = 1</c>), the masks
/// of every pair inside the arc cancel, the pair (c + j - 1, c + j) is the receiver's own, and the only mask it cannot
/// remove is that of the pair (c, c + 1). Every other mask on chunk c is work that hides nothing from any single rank.
/// The owner c subtracts that mask again when it adds its own elements at the last step, and learns the sum over all
/// other ranks, which the total tells it anyway. So each rank makes 2/N of a vector of mask words instead of two
/// vectors (<c>Neighbours = 1</c>) or N - 1 (all pairs on three ranks), and the threat model is the same:
/// any single honest-but-curious rank learns nothing beyond the total (docs/masked-allreduce.md, "Threat model").
/// The result is the same bits as with every mask, since all masks cancel in the total.
/// </para>
/// </summary>
internal sealed class RingMaskPlan
{
    private readonly MaskPeer[] _everywhere = [];
    /// <summary>The owner-pair plan's masks of this rank's own chunk and of its left neighbour's; null on the other plan.</summary>
    private readonly MaskPeer[]? _ownChunk, _leftChunk;
    private readonly int _rank, _left;

    private RingMaskPlan(MaskPeer[] everywhere) => _everywhere = everywhere;

    private RingMaskPlan(int rank, int left, MaskPeer towardsRight, MaskPeer towardsLeft) =>
        (_rank, _left, _ownChunk, _leftChunk) = (rank, left, [towardsRight], [towardsLeft]);

    /// <summary>True where each chunk carries only its owner pair's mask.</summary>
    public bool OwnerPairOnly => _ownChunk is not null;

    /// <summary>Every peer's mask on every chunk.</summary>
    public static RingMaskPlan Everywhere(MaskPeer[] peers) => new(peers);

    /// <summary>
    /// Chunk <paramref name="rank"/> carries the mask shared with the right neighbour, chunk rank - 1 the mask shared
    /// with the left neighbour (on two ranks both are the one peer), every other chunk none.
    /// </summary>
    public static RingMaskPlan OwnerPairOnlyOf(int rank, int size, MaskPeer towardsRight, MaskPeer towardsLeft) =>
        size < 2
            ? throw new ArgumentOutOfRangeException(nameof(size), size, "The owner-pair plan needs a ring of at least two ranks.")
            : new(rank, (rank - 1 + size) % size, towardsRight, towardsLeft);

    /// <summary>The masks this rank adds to the elements of <paramref name="chunk"/>.</summary>
    public MaskPeer[] ForChunk(int chunk) =>
        _ownChunk is null ? _everywhere
        : chunk == _rank ? _ownChunk
        : chunk == _left ? _leftChunk!
        : [];
}
