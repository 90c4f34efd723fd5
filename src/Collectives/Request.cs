namespace AllReduceNet.Collectives;

/// <summary>
/// A point-to-point send or receive in flight, like an MPI request. The buffer it names stays in use (and pinned)
/// until the request completes; wait for it, or test it, before touching the buffer again.
/// </summary>
public abstract class Request
{
    /// <summary>True once the transfer finished (successfully or not).</summary>
    public abstract bool IsCompleted { get; }

    /// <summary>What the receive got; for a send, the destination, tag and bytes sent. Valid after completion.</summary>
    public abstract MessageStatus Status { get; }

    /// <summary>The communicator's default timeout, used by <see cref="Wait()"/>.</summary>
    internal abstract TimeSpan DefaultTimeout { get; }

    /// <summary>Returns true when the request has completed, false when it is still in flight; never blocks.</summary>
    /// <exception cref="CollectiveException">The transfer failed (for example a message larger than the buffer).</exception>
    public bool Test()
    {
        if (!IsCompleted) return false;
        ThrowIfFailed();
        return true;
    }

    /// <summary>Blocks until the request completes, for at most the communicator's default timeout.</summary>
    /// <exception cref="CommunicationTimeoutException">It did not complete in time.</exception>
    /// <exception cref="CommunicatorAbortedException">Another rank failed while this one waited.</exception>
    public MessageStatus Wait() => Wait(DefaultTimeout);

    /// <summary>Blocks until the request completes, for at most <paramref name="timeout"/>.</summary>
    /// <exception cref="CommunicationTimeoutException">It did not complete in time; the message says what was pending.</exception>
    /// <exception cref="CommunicatorAbortedException">Another rank failed while this one waited.</exception>
    public MessageStatus Wait(TimeSpan timeout)
    {
        ThrowHelper.CheckTimeout(timeout, nameof(timeout));
        if (!WaitCore(Deadline.After(timeout)))
            throw new CommunicationTimeoutException($"{Describe()} did not complete within {timeout}.");
        ThrowIfFailed();
        return Status;
    }

    /// <summary>Waits for every request, sharing one timeout.</summary>
    /// <exception cref="CommunicationTimeoutException">Some request did not complete in time.</exception>
    public static void WaitAll(ReadOnlySpan<Request> requests, TimeSpan timeout)
    {
        ThrowHelper.CheckTimeout(timeout, nameof(timeout));
        var deadline = Deadline.After(timeout);
        foreach (var request in requests)
        {
            if (!request.WaitCore(deadline))
                throw new CommunicationTimeoutException($"{request.Describe()} did not complete within {timeout} (in WaitAll of {requests.Length}).");
            request.ThrowIfFailed();
        }
    }

    /// <summary>Blocks until completion or the deadline; false on timeout. Throws when the world was aborted.</summary>
    internal abstract bool WaitCore(Deadline deadline);

    /// <summary>Throws the transfer's error, if it failed.</summary>
    internal abstract void ThrowIfFailed();

    /// <summary>For a collective receive, the element count the sender passed, where the transport knows it; else -1.</summary>
    internal virtual long PeerCollectiveCount => -1;

    /// <summary>Who sends what to whom, for error messages.</summary>
    internal abstract string Describe();

    /// <summary>
    /// Withdraws a request that has not been matched yet, so its buffer can be released. Returns false when it
    /// already matched; transports whose peers copy into this rank's memory (in-process) first wait, bounded, for
    /// that copy to end, so the caller may release the buffer after either answer.
    /// </summary>
    internal abstract bool TryCancel();
}
