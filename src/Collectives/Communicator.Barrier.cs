using AllReduceNet.Collectives.Algorithms;

namespace AllReduceNet.Collectives;

public sealed partial class Communicator
{
    /// <summary>Returns only after every rank has called it (dissemination barrier, ceil(log2 N) rounds).</summary>
    /// <exception cref="CommunicationTimeoutException">Some rank did not arrive in time; the message names them where the transport can tell.</exception>
    /// <exception cref="CommunicatorAbortedException">Another rank failed.</exception>
    public void Barrier(CollectiveOptions? options = null)
    {
        ThrowIfDisposed();
        var call = new CollectiveCall(this, CollectiveKind.Barrier, ElementType.Byte, null, 0, options ?? CollectiveOptions.Default);
        using var timelineSpan = BeginTimeline(call);
        try { BarrierDissemination.Run(call); }
        catch (Exception error)
        {
            call.NotifyPeersOfFailure(error);
            throw;
        }
    }
}
