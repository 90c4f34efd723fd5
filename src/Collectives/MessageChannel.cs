namespace AllReduceNet.Collectives;

/// <summary>
/// Keeps the collectives' messages apart from the user's point-to-point messages, as MPI does with a duplicated
/// communicator. On the collective channel a receive matches the next message from its source whatever its tag;
/// the tag then carries the signature of the call, which is checked.
/// </summary>
internal enum MessageChannel : byte
{
    User = 0,
    Collective = 1,

    /// <summary>
    /// Failure notices: a rank whose collective failed tells every peer on this channel (an empty message whose tag is
    /// the failed call's number), so ranks waiting on it are released at once instead of at their timeout.
    /// </summary>
    Control = 2,
}
