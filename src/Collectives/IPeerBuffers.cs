namespace AllReduceNet.Collectives;

/// <summary>
/// Where the ranks of a communicator share one address space (the in-process transport), a board on which each rank
/// puts up its buffer for the current collective, so that the others can read it directly, and a count of the ranks
/// inside such a collective, so that no rank leaves a failed one while its buffer may still be read.
/// <para>
/// The protocol (a Dekker handshake): a rank counts itself in (<see cref="EnterReading"/>) before it publishes or
/// reads anything; a rank that fails takes its entry down (<see cref="Retract"/>), counts itself out and waits until
/// no rank is counted in. A reader that counted itself in before that wait began is waited for; one that comes later
/// sees the entry taken down and reads nothing.
/// </para>
/// </summary>
internal unsafe interface IPeerBuffers
{
    /// <summary>Puts up this rank's buffer and element count for the collective under way.</summary>
    void Publish(int rank, void* buffer, long count);

    /// <summary>Takes this rank's entry down (it is leaving a failed collective), with a full fence after.</summary>
    void Retract(int rank);

    /// <summary>True when the rank took its entry down: it left the collective, and its buffer must not be read.</summary>
    bool IsRetracted(int rank);

    void* Buffer(int rank);

    long Count(int rank);

    /// <summary>This rank is inside a collective that may read others' buffers (a full fence).</summary>
    void EnterReading();

    /// <summary>This rank has stopped reading others' buffers.</summary>
    void LeaveReading();

    /// <summary>Waits until no rank reads others' buffers, or the deadline passes; true when none does.</summary>
    bool WaitUntilNoneReading(Deadline deadline);

    /// <summary>Ends the whole group with <paramref name="error"/>, so that every rank still inside leaves at its next wait.</summary>
    void Abort(int rank, Exception error);
}
