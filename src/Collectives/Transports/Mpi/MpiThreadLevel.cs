namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// How much threading MPI must support (MPI_Init_thread's levels). The values are the same in both ABIs: MPICH
/// mpi.h:805-808 (#define MPI_THREAD_SINGLE 0 ... MPI_THREAD_MULTIPLE 3) and Open MPI mpi.h:708-713 (an enum in
/// the same order, from 0).
/// </summary>
public enum MpiThreadLevel
{
    /// <summary>MPI_THREAD_SINGLE: one thread only.</summary>
    Single = 0,

    /// <summary>MPI_THREAD_FUNNELED: only the thread that initialized MPI calls it.</summary>
    Funneled = 1,

    /// <summary>MPI_THREAD_SERIALIZED: any thread, one at a time (the binding's lock takes care of that).</summary>
    Serialized = 2,

    /// <summary>MPI_THREAD_MULTIPLE: any thread, concurrently.</summary>
    Multiple = 3,
}
