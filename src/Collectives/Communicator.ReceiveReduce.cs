namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>True when <see cref="TryIrecvReduce"/> reduces straight from the sender (the in-process transport).</summary>
    internal bool ReducesUserReceives => Transport.ReducesUserReceives;

    /// <summary>
    /// Starts a receive from <paramref name="source"/> with <paramref name="tag"/> on the point-to-point channel whose
    /// payload is reduced into <paramref name="target"/> (<c>reduce(target, payload, bytes)</c>, called on pieces of
    /// the message that hold whole elements of a power-of-two size up to 64 bytes) straight from the sender's memory, the way the collectives'
    /// ring reduces; null when the transport cannot (the caller then receives into scratch and reduces itself).
    /// A message of another length is not reduced: compare <see cref="MessageStatus.ByteCount"/>. The target must stay
    /// fixed in memory until the request completes.
    /// </summary>
    /// <remarks>Check <see cref="ReducesUserReceives"/> first: an algorithm that reduces on receive prepares its target differently.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The source or tag is out of range (no wildcards here).</exception>
    /// <exception cref="ObjectDisposedException">The communicator was disposed.</exception>
    internal Request? TryIrecvReduce(void* target, long bytes, int source, int tag, delegate*<void*, void*, long, void> reduce)
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(source, Size, nameof(source), Rank);
        ThrowHelper.CheckTag(tag, nameof(tag), Rank, allowAny: false);
        return Transport.PostUserReceiveReduce(target, bytes, source, tag, reduce);
    }
}
