namespace AllReduceNet.Collectives;

public sealed unsafe partial class Communicator
{
    /// <summary>True when <see cref="TryIrecvLoan"/> lends the sender's buffer (the in-process transport).</summary>
    internal bool LendsUserSends => Transport.LendsUserSends;

    /// <summary>
    /// Starts a send to <paramref name="destination"/> on the point-to-point channel whose memory a lending receive
    /// (<see cref="TryIrecvLoan"/>) may also write into before it returns the loan (<see cref="IReceiveLoan.Writable"/>);
    /// the send completes only then, with whatever the receiver stored. Null when the transport does not lend.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The destination or tag is out of range (no wildcards here).</exception>
    /// <exception cref="ObjectDisposedException">The communicator was disposed.</exception>
    internal Request? TryIsendLent<T>(Memory<T> data, int destination, int tag) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.CheckRank(destination, Size, nameof(destination), Rank);
        ThrowHelper.CheckTag(tag, nameof(tag), Rank, allowAny: false);
        if (!Transport.LendsUserSends) return null;
        var pin = data.Pin();
        return Transport.PostUserSendLent(pin.Pointer, (long)data.Length * sizeof(T), destination, tag, pin)
            ?? throw new InvalidOperationException($"rank {Rank}: the {Transport.Name} transport lends its senders' buffers but refused a lent send.");
    }

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
