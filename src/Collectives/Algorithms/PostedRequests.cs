using System.Buffers;

namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The requests one run of a pipelined algorithm posts, in a pooled array, with the lifecycle every such run repeats:
/// wait for its sends, take everything back after a failure, hand everything to the transport for reuse after
/// success, return the array. Sends are expected first in the array (indices below the count given to
/// <see cref="WaitSends"/>), receives after them.
/// </summary>
internal readonly struct PostedRequests
{
    private readonly Request?[] _requests;
    private readonly int _count;

    /// <summary>Room for <paramref name="count"/> requests, all empty.</summary>
    public PostedRequests(int count)
    {
        _count = count;
        _requests = ArrayPool<Request?>.Shared.Rent(count);
        Array.Clear(_requests, 0, count);
    }

    public ref Request? this[int index] => ref _requests[index];

    /// <summary>Waits for the sends at [0, <paramref name="sends"/>).</summary>
    public void WaitSends(in CollectiveCall call, int sends)
    {
        for (int k = 0; k < sends; k++) call.WaitSend(_requests[k]);
    }

    /// <summary>
    /// After a failure: takes back what is still posted, so no transfer touches the buffers later. Last first: while
    /// later sends are taken back, a peer's receive still matches the earliest one left, not a later segment of another
    /// size (which it would report as a count mismatch).
    /// </summary>
    public void Withdraw()
    {
        for (int k = _count - 1; k >= 0; k--) CollectiveCall.Withdraw(_requests[k]);
    }

    /// <summary>After success: every request is complete and looked at; the transport may reuse them.</summary>
    public void Recycle(in CollectiveCall call)
    {
        for (int k = 0; k < _count; k++) call.Recycle(_requests[k]);
    }

    public void Release() => ArrayPool<Request?>.Shared.Return(_requests, clearArray: true);
}
