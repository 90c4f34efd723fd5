namespace AllReduceNet.Collectives;

/// <summary>Base class of every error this library raises about communication between ranks.</summary>
public class CollectiveException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public CollectiveException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public CollectiveException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>
/// The ranks disagree about a collective: different operations, element types, operators, algorithms or counts,
/// or a message larger than the buffer posted for it. The message names the ranks involved and what each passed.
/// </summary>
public sealed class CollectiveMismatchException : CollectiveException
{
    /// <summary>Creates the exception.</summary>
    public CollectiveMismatchException(string message) : base(message) { }
}

/// <summary>
/// A wait ran past its timeout. The message names the operation, its call number on the communicator and the ranks
/// that never arrived, where the transport can tell.
/// </summary>
public sealed class CommunicationTimeoutException : CollectiveException
{
    /// <summary>Creates the exception.</summary>
    public CommunicationTimeoutException(string message) : base(message) { }

    /// <summary>Creates the exception with the timeout that caused it (e.g. a collective's own, naming the peer).</summary>
    public CommunicationTimeoutException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>
/// Another rank of the world failed, so this rank's wait was released. The message names the failed rank and its error.
/// </summary>
public sealed class CommunicatorAbortedException : CollectiveException
{
    /// <summary>The rank (in the world) whose failure aborted the world, or -1 when unknown.</summary>
    public int FailedRank { get; }

    /// <summary>Creates the exception.</summary>
    public CommunicatorAbortedException(int failedRank, string message, Exception? cause)
        : base(message, cause) => FailedRank = failedRank;
}

/// <summary>A rank of an in-process world threw; thrown by <c>InProcessWorld.Run</c>.</summary>
public sealed class RankFailedException : CollectiveException
{
    /// <summary>The rank whose body threw first.</summary>
    public int Rank { get; }

    /// <summary>Creates the exception; <paramref name="inner"/> is the rank's own exception.</summary>
    public RankFailedException(int rank, int size, Exception inner)
        : base($"Rank {rank} of {size} failed: {inner.GetType().Name}: {inner.Message}", inner) => Rank = rank;
}

/// <summary>An ALLREDUCENET_* environment variable has a value the library cannot use; the message names it and what is allowed.</summary>
public sealed class EnvironmentSettingException : CollectiveException
{
    /// <summary>The variable, e.g. ALLREDUCENET_ALGO.</summary>
    public string Variable { get; }

    /// <summary>The value it had.</summary>
    public string Value { get; }

    /// <summary>Creates the error for <paramref name="variable"/>=<paramref name="value"/>, where <paramref name="allowed"/> says what would do.</summary>
    public EnvironmentSettingException(string variable, string value, string allowed)
        : base($"{variable}='{value}' is not valid: expected {allowed}.")
    {
        Variable = variable;
        Value = value;
    }
}
