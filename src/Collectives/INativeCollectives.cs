namespace AllReduceNet.Collectives;

/// <summary>
/// A transport's own collectives (the MPI library's), exposed so that they can run as one more algorithm and be the
/// baseline of every benchmark. Transports without any return null from <see cref="Communicator.Native"/>.
/// </summary>
internal unsafe interface INativeCollectives
{
    /// <summary>True when the library can reduce this type with this operator (MPI has no Half, for example).</summary>
    bool SupportsAllReduce(ElementType type, ReduceOp op);

    /// <summary>MPI_Allreduce; <paramref name="send"/> == <paramref name="receive"/> means in place.</summary>
    void AllReduce(void* send, void* receive, long count, ElementType type, ReduceOp op);

    /// <summary>MPI_Barrier.</summary>
    void Barrier();
}
