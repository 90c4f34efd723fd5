using AllReduceNet.Collectives.Algorithms;

namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>
    /// Copies <paramref name="data"/> from rank <paramref name="root"/> to every rank, down a binary tree pipelined by
    /// segment. Collective: every rank passes the same count and root.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The root is not a rank of this communicator.</exception>
    /// <exception cref="CollectiveMismatchException">Ranks passed different counts, types or roots.</exception>
    /// <exception cref="CommunicationTimeoutException">A peer did not arrive in time.</exception>
    public void Broadcast<T>(Span<T> data, int root, CollectiveOptions? options = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(root, Size, nameof(root), Rank);
        options ??= CollectiveOptions.Default;
        var call = new CollectiveCall(this, CollectiveKind.Broadcast, ElementTypes.Of<T>(), null, data.Length, options);
        using var timelineSpan = BeginTimeline(call);
        try
        {
            if (options.Validate || EnvironmentSettings.Current.Validate) ArgumentCheck.Run(this, call, null, root);
            fixed (T* p = data) TreePipeline.Broadcast(call, p, data.Length, root);
        }
        catch (Exception error)
        {
            call.NotifyPeersOfFailure(error);
            throw;
        }
    }
}
