namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>True when <see cref="TryIrecvLoan"/> lends the sender's buffer (the in-process transport).</summary>
    internal bool LendsUserSends => Transport.LendsUserSends;

    /// <summary>
    /// Starts a receive from <paramref name="source"/> with <paramref name="tag"/> on the point-to-point channel of
    /// exactly <paramref name="bytes"/> bytes that, once complete, lends this rank the sender's buffer
    /// (<see cref="IReceiveLoan"/>) instead of copying it; null when the transport cannot (the caller then receives
    /// into memory of its own). A message of another length is not lent: compare <see cref="MessageStatus.ByteCount"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The source or tag is out of range (no wildcards here), or bytes is negative.</exception>
    /// <exception cref="ObjectDisposedException">The communicator was disposed.</exception>
    internal IReceiveLoan? TryIrecvLoan(long bytes, int source, int tag)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ThrowHelper.CheckRank(source, Size, nameof(source), Rank);
        ThrowHelper.CheckTag(tag, nameof(tag), Rank, allowAny: false);
        return Transport.PostUserReceiveLoan(bytes, source, tag);
    }
}
