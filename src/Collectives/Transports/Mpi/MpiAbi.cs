namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The two binary interfaces MPI libraries ship with. Code compiled against one mpi.h runs only with libraries of the
/// same family, so the binding resolves every handle and the status layout per ABI at run time.
/// </summary>
public enum MpiAbi
{
    /// <summary>MPICH's ABI (libmpi.so.12, libmpich.so.12): MPICH, Intel MPI, MVAPICH, Cray MPICH. Handles are C ints.</summary>
    Mpich = 1,

    /// <summary>Open MPI's ABI (libmpi.so.40): handles are pointers, the predefined ones the addresses of exported <c>ompi_mpi_*</c> symbols.</summary>
    OpenMpi = 2,
}
