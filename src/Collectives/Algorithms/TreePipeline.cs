using System.Buffers;
using AllReduceNet.Collectives.Operators;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The two halves of a tree collective, pipelined by segment (a segment is the unit in flight).
/// <para>
/// Reduce: each rank receives segment j from its children into scratch slots, reduces first child then second
/// child into its own values (a fixed order, so the result does not depend on timing), and sends the segment to its
/// parent while the next segments are still arriving. Broadcast: each rank receives segment j from its parent
/// straight into place and forwards it to its children. Two segments per peer are kept posted ahead.
/// </para>
/// </summary>
internal static unsafe class TreePipeline
{
    private const int Depth = 2;

    /// <summary>Reduces every rank's <paramref name="values"/> into the root's; non-roots' values become partial sums.</summary>
    public static void Reduce<T, TOp>(in CollectiveCall call, T* values, long count, int root)
        where T : unmanaged where TOp : struct, IReduceOperator<T>
    {
        if (call.Size == 1 || count == 0) return;
        var tree = new BinaryTree(call.Rank, call.Size, root);
        long segmentElements = Math.Min(count, Math.Max(1, call.SegmentBytes / sizeof(T)));
        // The children's segments land in slots and are reduced in child order (never straight from the sender: two
        // children reducing into one segment at once would race, and the order would depend on timing).
        T* slots = tree.ChildCount > 0 ? (T*)call.Slots(Depth * 2 * segmentElements * sizeof(T)) : null;
        int segments = (int)((count + segmentElements - 1) / segmentElements);
        int children = tree.ChildCount;
        // requests: [0, segments) sends to the parent, then Depth x 2 receive slots
        var requests = ArrayPool<Request?>.Shared.Rent(segments + Depth * 2);
        Array.Clear(requests, 0, segments + Depth * 2);
        try
        {
            for (int j = 0; j < Math.Min(Depth, segments); j++) PostFromChildren(call, tree, requests, segments, slots, j, count, segmentElements);
            for (int j = 0; j < segments; j++)
            {
                long offset = j * segmentElements, length = Math.Min(segmentElements, count - offset);
                var mine = new Span<T>(values + offset, (int)length);
                for (int c = 0; c < children; c++)
                {
                    int slot = (j % Depth) * 2 + c;
                    // While waiting for the first child, watch the second: a mismatched message from it must not wait on the first.
                    var sibling = c + 1 < children ? requests[segments + slot + 1] : null;
                    call.WaitReceive(requests[segments + slot], length * sizeof(T), sibling);
                    long reduceStart = Diagnostics.Timeline.Now();
                    TOp.Apply(mine, new ReadOnlySpan<T>(slots + slot * segmentElements, (int)length), mine);
                    Diagnostics.Timeline.Reduced(reduceStart, length * sizeof(T));
                    call.Recycle(requests[segments + slot]);
                    requests[segments + slot] = null;
                }
                if (tree.Parent >= 0) requests[j] = call.Send(values + offset, length * sizeof(T), tree.Parent);
                if (j + Depth < segments) PostFromChildren(call, tree, requests, segments, slots, j + Depth, count, segmentElements);
            }
            for (int j = 0; j < segments; j++) call.WaitSend(requests[j]);
            Recycle(call, requests, segments + Depth * 2);
        }
        catch
        {
            Withdraw(requests, segments + Depth * 2);
            throw;
        }
        finally
        {
            ArrayPool<Request?>.Shared.Return(requests, clearArray: true);
        }
    }

    private static void PostFromChildren<T>(in CollectiveCall call, BinaryTree tree, Request?[] requests, int segments,
        T* slots, int j, long count, long segmentElements) where T : unmanaged
    {
        long length = Math.Min(segmentElements, count - j * segmentElements);
        for (int c = 0; c < tree.ChildCount; c++)
        {
            int slot = (j % Depth) * 2 + c;
            requests[segments + slot] = call.Receive(slots + slot * segmentElements, length * sizeof(T), tree.Child(c));
        }
    }

    /// <summary>Copies the root's <paramref name="values"/> to every rank.</summary>
    public static void Broadcast<T>(in CollectiveCall call, T* values, long count, int root) where T : unmanaged
    {
        if (call.Size == 1 || count == 0) return;
        var tree = new BinaryTree(call.Rank, call.Size, root);
        long segmentElements = Math.Max(1, call.SegmentBytes / sizeof(T));
        int segments = (int)((count + segmentElements - 1) / segmentElements);
        int children = tree.ChildCount;
        // requests: [0, 2 x segments) sends to the children, then Depth receive slots
        var requests = ArrayPool<Request?>.Shared.Rent(2 * segments + Depth);
        Array.Clear(requests, 0, 2 * segments + Depth);
        try
        {
            if (tree.Parent >= 0)
                for (int j = 0; j < Math.Min(Depth, segments); j++) PostFromParent(call, tree, requests, segments, values, j, count, segmentElements);
            for (int j = 0; j < segments; j++)
            {
                long offset = j * segmentElements, length = Math.Min(segmentElements, count - offset);
                if (tree.Parent >= 0)
                {
                    call.WaitReceive(requests[2 * segments + j % Depth], length * sizeof(T));
                    call.Recycle(requests[2 * segments + j % Depth]);
                    requests[2 * segments + j % Depth] = null;
                    if (j + Depth < segments) PostFromParent(call, tree, requests, segments, values, j + Depth, count, segmentElements);
                }
                for (int c = 0; c < children; c++)
                    requests[2 * j + c] = call.Send(values + offset, length * sizeof(T), tree.Child(c));
            }
            for (int k = 0; k < 2 * segments; k++) call.WaitSend(requests[k]);
            Recycle(call, requests, 2 * segments + Depth);
        }
        catch
        {
            Withdraw(requests, 2 * segments + Depth);
            throw;
        }
        finally
        {
            ArrayPool<Request?>.Shared.Return(requests, clearArray: true);
        }
    }

    private static void PostFromParent<T>(in CollectiveCall call, BinaryTree tree, Request?[] requests, int segments,
        T* values, int j, long count, long segmentElements) where T : unmanaged
    {
        long offset = j * segmentElements, length = Math.Min(segmentElements, count - offset);
        requests[2 * segments + j % Depth] = call.Receive(values + offset, length * sizeof(T), tree.Parent);
    }

    /// <summary>After success: the transport may reuse the requests.</summary>
    private static void Recycle(in CollectiveCall call, Request?[] requests, int count)
    {
        for (int k = 0; k < count; k++) call.Recycle(requests[k]);
    }

    private static void Withdraw(Request?[] requests, int count)
    {
        for (int k = 0; k < count; k++) CollectiveCall.Withdraw(requests[k]);
    }
}
