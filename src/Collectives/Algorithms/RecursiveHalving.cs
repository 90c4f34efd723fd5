using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// Recursive-halving AllReduce (Rabenseifner; Thakur, Rabenseifner and Gropp, 2005): a reduce-scatter by recursive
/// halving, then an all-gather by recursive doubling. It adds in exactly recursive doubling's order, so the two give
/// the same bits, while each rank sends 2(N-1)/N of the buffer instead of log2(N) whole buffers.
/// <para>
/// Vocabulary: the buffer is cut into N' chunks (N' the largest power of two up to N, <see cref="ChunkLayout"/>); a
/// rank's range is the run of chunks it is responsible for in a round. Reduce-scatter round k (k = 0..log2 N' - 1)
/// pairs the ranks whose (virtual) numbers differ in bit k, as recursive doubling's round k does. Both hold the same
/// range, the partial sums of the 2^k ranks that agree with them in bits k and above; the one with bit k clear keeps
/// the range's lower half, the other the upper half, each sends the half it gives up and adds the partner's values
/// into the half it keeps, the lower-numbered side's operand first. So every element gets the same sum, in the same
/// order, as in recursive doubling's round k: (sum over the lower group) op (sum over the upper group). After the
/// last round each rank holds one chunk, reduced over all ranks; the all-gather runs the rounds backwards, each rank
/// sending its range to its partner, which copies it (no arithmetic, so no bit changes).
/// </para>
/// <para>
/// A world that is not a power of two is folded first and unfolded last exactly as recursive doubling does
/// (ranks 0..2r-1 in pairs, r = N - N'), which keeps the order the same there too. Messages are cut into segments;
/// a partner's values are reduced straight from its buffer where the transport allows (in-process, MPI's shared
/// memory): the half a rank sends is never the half it updates in the same round.
/// </para>
/// </summary>
internal static unsafe class RecursiveHalving
{
    public static void Run<T, TOp>(in CollectiveCall call, T* values, long count)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        int size = call.Size, rank = call.Rank;
        if (size == 1 || count == 0) return;
        int powerOfTwo = 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)size));
        int remainder = size - powerOfTwo;
        long segmentElements = Math.Max(1, call.SegmentBytes / sizeof(T));
        T* slot = (T*)call.Slots(Math.Min(count, segmentElements) * sizeof(T));

        // Fold the first 2r ranks in pairs, as recursive doubling does: the odd rank adds the even one's values first.
        if (rank < 2 * remainder)
        {
            if (rank % 2 == 0)
            {
                RecursiveDoubling.SendAll(call, values, count, Math.Min(count, segmentElements), rank + 1);
                RecursiveDoubling.ReceiveAll(call, values, count, Math.Min(count, segmentElements), rank + 1);
                return;
            }
            Exchange<T, TOp>(call, rank - 1, values, 0, 0, values, 0, count, slot, segmentElements, peerFirst: true);
        }

        int virtualRank = rank < 2 * remainder ? rank / 2 : rank - remainder;
        var chunks = new ChunkLayout(count, powerOfTwo);
        int rounds = System.Numerics.BitOperations.Log2((uint)powerOfTwo);
        int first = 0, width = powerOfTwo;   // this rank's range of chunks
        for (int k = 0; k < rounds; k++)
        {
            int virtualPeer = virtualRank ^ (1 << k);
            int half = width / 2;
            bool keepLower = (virtualRank & (1 << k)) == 0;
            int kept = keepLower ? first : first + half, given = keepLower ? first + half : first;
            Exchange<T, TOp>(call, PeerOf(virtualPeer, remainder),
                values, chunks.Offset(given), chunks.Offset(given + half) - chunks.Offset(given),
                values, chunks.Offset(kept), chunks.Offset(kept + half) - chunks.Offset(kept),
                slot, segmentElements, peerFirst: virtualPeer < virtualRank);
            first = kept;
            width = half;
        }
        for (int k = rounds - 1; k >= 0; k--)
        {
            int virtualPeer = virtualRank ^ (1 << k);
            int theirs = first ^ width;   // the sibling range: the partner's, one bit of the chunk index apart
            Exchange<T, NoOperator<T>>(call, PeerOf(virtualPeer, remainder),
                values, chunks.Offset(first), chunks.Offset(first + width) - chunks.Offset(first),
                values, chunks.Offset(theirs), chunks.Offset(theirs + width) - chunks.Offset(theirs),
                null, segmentElements, peerFirst: false);
            first = Math.Min(first, theirs);
            width *= 2;
        }

        if (rank < 2 * remainder) RecursiveDoubling.SendAll(call, values, count, Math.Min(count, segmentElements), rank - 1);
    }

    /// <summary>The real rank of a virtual one: the odd rank of a folded pair, or shifted past the folded pairs.</summary>
    private static int PeerOf(int virtualRank, int remainder) => virtualRank < remainder ? 2 * virtualRank + 1 : virtualRank + remainder;

    /// <summary>
    /// One round with <paramref name="peer"/>, segment by segment: sends [sendOffset, +sendLength) and receives the
    /// peer's values for [receiveOffset, +receiveLength), which it adds (peer op mine when
    /// <paramref name="peerFirst"/>, else mine op peer) or, with a null <paramref name="slot"/>, copies. The two
    /// ranges never overlap, and the peer's lengths are this rank's swapped, so both post the same segments.
    /// </summary>
    private static void Exchange<T, TOp>(in CollectiveCall call, int peer, T* send, long sendOffset, long sendLength,
        T* target, long receiveOffset, long receiveLength, T* slot, long segmentElements, bool peerFirst)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        long longer = Math.Max(sendLength, receiveLength);
        for (long at = 0; at < longer; at += segmentElements)
        {
            long sendNow = Math.Clamp(sendLength - at, 0, segmentElements), receiveNow = Math.Clamp(receiveLength - at, 0, segmentElements);
            PendingReduce<T> reduce = default;
            Request? received = null, sent = null;
            try
            {
                if (receiveNow > 0)
                {
                    T* into = target + receiveOffset + at;
                    if (slot == null) received = call.Receive(into, receiveNow * sizeof(T), peer);
                    else
                    {
                        reduce = peerFirst
                            ? call.PostReceiveReduce<T, OperandsSwapped<T, TOp>>(into, receiveNow, peer, slot)
                            : call.PostReceiveReduce<T, TOp>(into, receiveNow, peer, slot);
                        received = reduce.Request;
                    }
                }
                if (sendNow > 0) sent = call.Send(send + sendOffset + at, sendNow * sizeof(T), peer);
                if (receiveNow > 0)
                {
                    if (slot == null) call.WaitReceive(received, receiveNow * sizeof(T));
                    else if (peerFirst) call.FinishReceiveReduce<T, OperandsSwapped<T, TOp>>(reduce);
                    else call.FinishReceiveReduce<T, TOp>(reduce);
                }
                call.WaitSend(sent);
            }
            catch
            {
                CollectiveCall.Withdraw(received);
                CollectiveCall.Withdraw(sent);
                throw;
            }
            if (slot == null) call.Recycle(received);
            call.Recycle(sent);
        }
    }
}
