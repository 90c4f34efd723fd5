namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// An MPI call returned an error code (the binding installs MPI_ERRORS_RETURN, so errors come back as codes instead
/// of aborting). The message names the call, the rank and the library's own error text.
/// </summary>
public sealed class MpiException : CollectiveException
{
    /// <summary>The code the MPI call returned; -1 for an inconsistency the binding found itself (no MPI call failed).</summary>
    public int ErrorCode { get; }

    /// <summary>The MPI error class of <see cref="ErrorCode"/> (MPI_Error_class), e.g. MPI_ERR_TRUNCATE; -1 with an <see cref="ErrorCode"/> of -1.</summary>
    public int ErrorClass { get; }

    /// <summary>Creates the exception.</summary>
    public MpiException(string message, int errorCode, int errorClass) : base(message)
    {
        ErrorCode = errorCode;
        ErrorClass = errorClass;
    }
}
