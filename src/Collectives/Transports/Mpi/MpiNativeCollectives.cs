namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The MPI library's own AllReduce on the collectives' communicator, the baseline of every benchmark: MPI_Allreduce, or
/// MPI_Iallreduce tested by the caller until its deadline, like any request, where a timeout must be honoured. MPI
/// cannot cancel a started collective, so after such a failure the request stays with the library.
/// </summary>
internal sealed unsafe class MpiNativeCollectives(MpiTransport comm) : INativeCollectives
{
    /// <summary>
    /// Float, double, int and long with Sum, Prod, Min and Max. MPI's C interface has no 16-bit float. Bytes are left to
    /// Ring and Tree because both installed libraries reduce MPI_UINT8_T wrongly (reproduced in C): Open MPI 4.1.4
    /// saturates vectorized sums (200 + 100 = 255 over 64 elements, 44 over one), MPICH 4.0.2 compares signed
    /// (max(92, 129) = 92).
    /// </summary>
    public bool SupportsAllReduce(ElementType type, ReduceOp op) => DatatypeOf(type) != 0 && OpOf(op) != 0;

    /// <summary>MPI_Allreduce, MPI_IN_PLACE when the buffers are the same.</summary>
    public void AllReduce(void* send, void* receive, int count, ElementType type, ReduceOp op)
    {
        var mpi = comm.Library;
        void* s = send == receive ? (void*)mpi.Handles.InPlace : send;
        mpi.Check(mpi.Allreduce(s, receive, count, DatatypeOf(type), OpOf(op), comm.CollectiveComm),
            $"MPI_Allreduce of {count} x {ElementTypes.Name(type)} ({op})", comm.Rank);
    }

    /// <summary>MPI_Iallreduce, MPI_IN_PLACE when the buffers are the same.</summary>
    public Request StartAllReduce(void* send, void* receive, int count, ElementType type, ReduceOp op)
    {
        var mpi = comm.Library;
        nint datatype = DatatypeOf(type), mpiOp = OpOf(op);
        if (datatype == 0 || mpiOp == 0)
            throw new NotSupportedException($"rank {comm.Rank}: {mpi.ShortName} cannot reduce {ElementTypes.Name(type)} with {op}.");
        void* s = send == receive ? (void*)mpi.Handles.InPlace : send;
        string what = $"MPI_Iallreduce of {count} x {ElementTypes.Name(type)} ({op})";
        mpi.Check(mpi.Iallreduce(s, receive, count, datatype, mpiOp, comm.CollectiveComm, out var handle), what, comm.Rank);
        return new MpiRequest(comm, isSend: true, handle, (long)count * ElementSize(type), -1, 0, MessageChannel.Collective, default, what);
    }

    private nint DatatypeOf(ElementType type)
    {
        var h = comm.Library.Handles;
        return type switch
        {
            ElementType.Float => h.Float,
            ElementType.Double => h.Double,
            ElementType.Int32 => h.Int32,
            ElementType.Int64 => h.Int64,
            _ => 0,
        };
    }

    private nint OpOf(ReduceOp op)
    {
        var h = comm.Library.Handles;
        return op switch
        {
            ReduceOp.Sum => h.OpSum,
            ReduceOp.Prod => h.OpProd,
            ReduceOp.Min => h.OpMin,
            ReduceOp.Max => h.OpMax,
            _ => 0,
        };
    }

    private static int ElementSize(ElementType type) => type switch
    {
        ElementType.Double or ElementType.Int64 => 8,
        ElementType.Float or ElementType.Int32 => 4,
        _ => 1,
    };
}
