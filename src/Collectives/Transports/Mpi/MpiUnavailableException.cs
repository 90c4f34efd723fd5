namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// No usable MPI library could be loaded: none is installed, ALLREDUCENET_MPI_LIBRARY names a file that is missing or
/// is not an MPI library, or the library lacks a function the binding needs. The message lists what was tried and
/// how to install one.
/// </summary>
public sealed class MpiUnavailableException : CollectiveException
{
    /// <summary>Creates the exception.</summary>
    public MpiUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}
