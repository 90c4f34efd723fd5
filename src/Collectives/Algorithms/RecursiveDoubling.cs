using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// Recursive-doubling AllReduce (Thakur, Rabenseifner and Gropp, 2005; MPICH's choice for short messages). In round k
/// every rank exchanges its whole partial result with the rank whose (virtual) number differs in bit k, and both
/// combine the two values in the same order, the lower-numbered side's first; after log2(N) rounds every rank holds
/// the full reduction, bitwise identical everywhere. One round is one exchange, both ways at once: N = 2 takes a single
/// one-way latency, where the tree takes two and the ring two exchanges.
/// <para>
/// When N is not a power of two, with r = N - 2^floor(log2 N): ranks 0..2r-1 pair up first, each even rank handing its
/// values to the odd rank above it and sitting out; the odd ranks (virtual rank = rank / 2) and ranks 2r.. (virtual
/// rank = rank - r) run the rounds; then each odd rank hands the result back to its even partner. Virtual numbers keep
/// the order of the real ones, so "lower first" still fixes one order of operands.
/// </para>
/// <para>
/// The peer's values land in scratch and are reduced only after this rank's own send completed: the in-process
/// transport reads the sender's buffer directly, and this rank's buffer is both what it sends and what it updates.
/// Every round moves the whole buffer (in segments, so no message exceeds the segment size), so this is for small
/// messages; Auto uses it where the sweep measured it fastest.
/// </para>
/// </summary>
internal static unsafe class RecursiveDoubling
{
    public static void Run<T, TOp>(in CollectiveCall call, T* values, long count)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        int size = call.Size, rank = call.Rank;
        if (size == 1 || count == 0) return;
        int powerOfTwo = 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)size));
        int remainder = size - powerOfTwo;
        long segmentElements = Math.Min(count, Math.Max(1, call.SegmentBytes / sizeof(T)));
        T* scratch = (T*)call.Slots(segmentElements * sizeof(T));

        // Fold the first 2r ranks in pairs.
        if (rank < 2 * remainder)
        {
            if (rank % 2 == 0)
            {
                SendAll(call, values, count, segmentElements, rank + 1);
                ReceiveAll(call, values, count, segmentElements, rank + 1);
                return;
            }
            ExchangeAndReduce<T, TOp>(call, values, count, segmentElements, scratch, peer: rank - 1, send: false, peerFirst: true);
        }

        int virtualRank = rank < 2 * remainder ? rank / 2 : rank - remainder;
        for (int mask = 1; mask < powerOfTwo; mask <<= 1)
        {
            int virtualPeer = virtualRank ^ mask;
            int peer = virtualPeer < remainder ? 2 * virtualPeer + 1 : virtualPeer + remainder;
            ExchangeAndReduce<T, TOp>(call, values, count, segmentElements, scratch, peer, send: true, peerFirst: virtualPeer < virtualRank);
        }

        if (rank < 2 * remainder) SendAll(call, values, count, segmentElements, rank - 1);
    }

    /// <summary>
    /// One round with <paramref name="peer"/>, segment by segment: receive its values into scratch (and send ours,
    /// unless <paramref name="send"/> is false), then values = peer op values when <paramref name="peerFirst"/>, else
    /// values op peer.
    /// </summary>
    private static void ExchangeAndReduce<T, TOp>(in CollectiveCall call, T* values, long count, long segmentElements, T* scratch,
        int peer, bool send, bool peerFirst) where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        for (long offset = 0; offset < count; offset += segmentElements)
        {
            int length = (int)Math.Min(segmentElements, count - offset);
            long bytes = (long)length * sizeof(T);
            var received = call.Receive(scratch, bytes, peer);
            Request? sent = null;
            try
            {
                if (send) sent = call.Send(values + offset, bytes, peer);
                call.WaitReceive(received, bytes);
                call.WaitSend(sent);
            }
            catch
            {
                CollectiveCall.Withdraw(received);
                CollectiveCall.Withdraw(sent);
                throw;
            }
            var mine = new Span<T>(values + offset, length);
            var theirs = new ReadOnlySpan<T>(scratch, length);
            long reduceStart = Diagnostics.Timeline.Now();
            if (peerFirst) TOp.Apply(theirs, mine, mine);
            else TOp.Apply(mine, theirs, mine);
            Diagnostics.Timeline.Reduced(reduceStart, (long)length * sizeof(T));
            call.Recycle(received);
            call.Recycle(sent);
        }
    }

    /// <summary>Sends all of <paramref name="values"/> to <paramref name="peer"/> in segments (also the fold of <see cref="RecursiveHalving"/>).</summary>
    internal static void SendAll<T>(in CollectiveCall call, T* values, long count, long segmentElements, int peer) where T : unmanaged
    {
        for (long offset = 0; offset < count; offset += segmentElements)
        {
            long bytes = Math.Min(segmentElements, count - offset) * sizeof(T);
            var sent = call.Send(values + offset, bytes, peer);
            try { call.WaitSend(sent); }
            catch { CollectiveCall.Withdraw(sent); throw; }
            call.Recycle(sent);
        }
    }

    /// <summary>Receives all of <paramref name="values"/> from <paramref name="peer"/> in segments (also the unfold of <see cref="RecursiveHalving"/>).</summary>
    internal static void ReceiveAll<T>(in CollectiveCall call, T* values, long count, long segmentElements, int peer) where T : unmanaged
    {
        for (long offset = 0; offset < count; offset += segmentElements)
        {
            long bytes = Math.Min(segmentElements, count - offset) * sizeof(T);
            var received = call.Receive(values + offset, bytes, peer);
            try { call.WaitReceive(received, bytes); }
            catch { CollectiveCall.Withdraw(received); throw; }
            call.Recycle(received);
        }
    }
}
