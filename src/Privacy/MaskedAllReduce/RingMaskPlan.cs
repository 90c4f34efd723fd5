using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy;

/// <summary>
/// Which of a call's masks the fused ring (<see cref="MaskedRing"/>) adds to which chunk: every peer's mask on every
/// element, as the unfused path does, or every mask except those of pairs that are next to each other on the chunk's
/// path through the ring.
/// <para>
/// Why those can go: chunk c travels c + 1, c + 2, ..., c (its owner), and the rank at position j of that path receives
/// the sum over positions 1 .. j - 1. What a coalition learns from such a message is the honest ranks' part of it: their
/// inputs plus the masks of the pairs across the cut between the honest ranks before the receiver and those after it.
/// Take the honest ranks in path order, h_1, h_2, ...: the pair (h_i, h_i+1) crosses only the cut between them, and
/// that cut is seen only if a coalition member sits between them on the path. Two ranks next to each other on the
/// path have nobody between them, so their pair's mask on this chunk hides nothing from any coalition. Every other
/// pair (a, b) is needed: against the coalition of all ranks but a and b it is the only mask on the cut its members
/// between a and b see. With all those masks, each cut a coalition sees carries a mask that no other cut carries, so
/// all it receives is uniform except the sum over every honest rank, which the total tells it anyway.
/// </para>
/// <para>
/// Applied where the masks are those of all pairs (coalitions of up to N - 2), and with <c>Neighbours = 1</c> (single
/// ranks), where the ring neighbours' pairs are all path neighbours except the owner's pair (c, c + 1): that one mask
/// is all chunk c keeps (for a single receiver it is the one mask on the arc it cannot remove). Per element a rank
/// then makes (N - 1)(N - 2)/N mask words instead of N - 1 (1.5 instead of 3 on 4 ranks), or 2/N instead of 2. Not
/// applied with <c>Neighbours</c> k &gt;= 2 short of all pairs (not worked out for those coalitions), nor on two ranks,
/// where the two are path neighbours on both chunks and the total tells each the other's vector anyway: the one mask
/// stays on every element there. Either way the result is the same bits, since all masks cancel in the total.
/// </para>
/// </summary>
internal sealed class RingMaskPlan
{
    private readonly MaskPeer[] _everywhere = [];
    /// <summary>
    /// With path neighbours skipped: the masks of this rank's own chunk (all but the left neighbour's), of the left
    /// neighbour's chunk, which this rank sends first (all but the right neighbour's), and of every other chunk (all
    /// but both). Null otherwise.
    /// </summary>
    private readonly MaskPeer[]? _ownChunk, _leftChunk, _otherChunks;
    private readonly int _rank, _left;

    private RingMaskPlan(MaskPeer[] everywhere) => _everywhere = everywhere;

    private RingMaskPlan(int rank, int left, MaskPeer[] ownChunk, MaskPeer[] leftChunk, MaskPeer[] otherChunks) =>
        (_rank, _left, _ownChunk, _leftChunk, _otherChunks) = (rank, left, ownChunk, leftChunk, otherChunks);

    /// <summary>True where pairs next to each other on a chunk's path add no mask to that chunk.</summary>
    public bool SkipsPathNeighbours => _ownChunk is not null;

    /// <summary>Every peer's mask on every chunk.</summary>
    public static RingMaskPlan Everywhere(MaskPeer[] peers) => new(peers);

    /// <summary>
    /// Each chunk without the masks of the pairs next to each other on its path; <paramref name="peers"/> in the order of
    /// <paramref name="peerRanks"/>. Needs at least three ranks and both ring neighbours among the peers.
    /// </summary>
    public static RingMaskPlan SkippingPathNeighbours(int rank, int size, MaskPeer[] peers, ReadOnlySpan<int> peerRanks)
    {
        if (size < 3) throw new ArgumentOutOfRangeException(nameof(size), size, "Skipping path neighbours needs a ring of at least three ranks.");
        int left = (rank - 1 + size) % size, right = (rank + 1) % size;
        if (!peerRanks.Contains(left) || !peerRanks.Contains(right))
            throw new ArgumentException($"rank {rank}: skipping path neighbours needs both ring neighbours ({left}, {right}) among the peers.", nameof(peerRanks));
        var ranks = peerRanks.ToArray();
        MaskPeer[] Except(int a, int b) => peers.Where((_, p) => ranks[p] != a && ranks[p] != b).ToArray();
        return new(rank, left, ownChunk: Except(left, left), leftChunk: Except(right, right), otherChunks: Except(left, right));
    }

    /// <summary>The masks this rank adds to the elements of <paramref name="chunk"/>.</summary>
    public MaskPeer[] ForChunk(int chunk) =>
        _ownChunk is null ? _everywhere
        : chunk == _rank ? _ownChunk
        : chunk == _left ? _leftChunk!
        : _otherChunks!;
}
