namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// The MPI library's own MPI_Allreduce and MPI_Barrier on the collectives' communicator: the baseline of every
/// benchmark. These are MPI's blocking calls (no timeout): a rank that fails instead of arriving ends the job through
/// the MPI_Abort hook that <see cref="MpiRuntime.Initialize"/> installs.
/// </summary>
internal sealed unsafe class MpiNativeCollectives(MpiCommunicator comm) : INativeCollectives
{
    /// <summary>
    /// Float, double, int and long with Sum, Prod, Min and Max. MPI's C interface has no 16-bit float. Bytes are left to
    /// Ring and Tree because both installed libraries reduce MPI_UINT8_T wrongly (reproduced in C): Open MPI 4.1.4
    /// saturates vectorized sums (200 + 100 = 255 over 64 elements, 44 over one), MPICH 4.0.2 compares signed
    /// (max(92, 129) = 92).
    /// </summary>
    public bool SupportsAllReduce(ElementType type, ReduceOp op) => DatatypeOf(type) != 0 && OpOf(op) != 0;

    /// <summary>MPI_Allreduce, MPI_IN_PLACE when the buffers are the same; counts above int.MaxValue go in int-sized pieces (element-wise, so the result is the same).</summary>
    public void AllReduce(void* send, void* receive, long count, ElementType type, ReduceOp op)
    {
        var mpi = comm.Library;
        nint datatype = DatatypeOf(type), mpiOp = OpOf(op);
        if (datatype == 0 || mpiOp == 0)
            throw new NotSupportedException($"rank {comm.Rank}: {mpi.ShortName} cannot reduce {ElementTypes.Name(type)} with {op}.");
        int size = ElementSize(type);
        long offset = 0;
        do // once even for count 0: every rank must make the same MPI calls
        {
            int n = (int)Math.Min(int.MaxValue, count - offset);
            byte* r = (byte*)receive + offset * size;
            void* s = send == receive ? (void*)mpi.Handles.InPlace : (byte*)send + offset * size;
            mpi.Check(mpi.Allreduce(s, r, n, datatype, mpiOp, comm.CollectiveComm), $"MPI_Allreduce of {n} x {ElementTypes.Name(type)} ({op})", comm.Rank);
            offset += n;
        } while (offset < count);
    }

    public void Barrier() => comm.Library.Check(comm.Library.Barrier(comm.CollectiveComm), "MPI_Barrier", comm.Rank);

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
