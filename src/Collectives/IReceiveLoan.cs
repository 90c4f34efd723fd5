namespace AllReduceNet.Collectives;

/// <summary>
/// A point-to-point receive that, once complete, lends the receiver the sender's buffer instead of copying it
/// (<see cref="Communicator.TryIrecvLoan"/>). The receiver reads <see cref="Payload"/> on its own thread, as it
/// likes (the masked ring adds it to its own quantized values in one pass), then <see cref="Return"/>s it; only then
/// does the sender's send complete, so the sender's buffer stays untouched meanwhile.
/// <para>
/// Why not a receive-reduce, as the collectives' ring uses (<see cref="ITransport.PostReceiveReduce"/>; the masked
/// ring used one on the point-to-point channel until benchmarks/RESULTS-federated.md "maskspeed 7"): there the
/// transport runs the operator on whichever thread arrives second, often the sender's, so the operator may only see
/// data the sender may see. A loan keeps the reading on the receiver's thread, where it may combine the payload with
/// data that must never leave the receiver (its unmasked floats).
/// </para>
/// </summary>
internal unsafe interface IReceiveLoan
{
    /// <summary>The receive itself: wait on it (by deadline) before reading <see cref="Payload"/>.</summary>
    Request Request { get; }

    /// <summary>
    /// The sender's bytes, valid from completion until <see cref="Return"/>; null when the message had another length
    /// than the one posted (the send was then completed at once and <see cref="Request.Status"/> tells its length).
    /// </summary>
    void* Payload { get; }

    /// <summary>
    /// True when the payload is the sender's own memory and the sender allowed writes to it (it sent with
    /// <see cref="Communicator.TryIsendLent{T}"/>): until <see cref="Return"/> the receiver may store into it, and the sender
    /// sees those stores once its send completes. False for an ordinary send (possibly a staged copy of a small one).
    /// </summary>
    bool Writable { get; }

    /// <summary>Ends the loan: the sender's send completes. Idempotent; call it on every path, failures included.</summary>
    void Return();
}
