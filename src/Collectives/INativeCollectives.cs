namespace AllReduceNet.Collectives;

/// <summary>
/// A transport's own collectives (the MPI library's), exposed so that they can run as one more algorithm and be the
/// baseline of every benchmark. Transports without any return null from <see cref="ITransport.Native"/>.
/// </summary>
internal unsafe interface INativeCollectives
{
    /// <summary>True when the library can reduce this type with this operator (MPI has no Half, for example).</summary>
    bool SupportsAllReduce(ElementType type, ReduceOp op);

    /// <summary>The library's blocking AllReduce (MPI_Allreduce) of at most int.MaxValue elements; <paramref name="send"/> == <paramref name="receive"/> means in place.</summary>
    void AllReduce(void* send, void* receive, int count, ElementType type, ReduceOp op);

    /// <summary>
    /// Starts the library's AllReduce (MPI_Iallreduce) of at most int.MaxValue elements; <paramref name="send"/> ==
    /// <paramref name="receive"/> means in place. The request completes with the collective; it cannot be cancelled.
    /// </summary>
    Request StartAllReduce(void* send, void* receive, int count, ElementType type, ReduceOp op);
}
