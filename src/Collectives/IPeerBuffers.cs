namespace AllReduceNet.Collectives;

/// <summary>
/// Where the ranks of a communicator share one address space (the in-process transport), a board on which each rank
/// pins up its buffer for the current collective, so that the others can read it directly, and a count of the ranks
/// reading others' buffers, so that no rank leaves a failed collective while its buffer is still being read.
/// </summary>
internal unsafe interface IPeerBuffers
{
    /// <summary>Puts up this rank's buffer and element count for the collective under way.</summary>
    void Publish(int rank, void* buffer, long count);

    void* Buffer(int rank);

    long Count(int rank);

    /// <summary>This rank starts reading others' buffers.</summary>
    void EnterReading();

    /// <summary>This rank has stopped reading others' buffers.</summary>
    void LeaveReading();

    /// <summary>Waits until no rank reads others' buffers, or the deadline passes; true when none does.</summary>
    bool WaitUntilNoneReading(Deadline deadline);
}
