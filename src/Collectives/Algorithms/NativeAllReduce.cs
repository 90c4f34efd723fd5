namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The transport library's own AllReduce (MPI_Iallreduce under MPI), run as one more algorithm so that it is the
/// baseline of every benchmark, numbered and checked like the others. Counts above int.MaxValue go in int-sized
/// pieces (element-wise, so the result is the same).
/// <para>
/// Timeouts: by default this is the library's blocking call (MPI_Allreduce), so that it is the true baseline of the
/// benchmarks; MPI offers no way to bound it, and a rank that fails instead of arriving ends the job through the
/// MPI_Abort hook. A call that names its own timeout (<see cref="CollectiveOptions.Timeout"/>) starts MPI_Iallreduce
/// instead and tests it until that deadline, watching peers' failure notices too (measured: 1.1 to 3x the blocking
/// call's time for messages up to 4 MiB here, which is why it is not the default). What MPI does not allow is taking a
/// started collective back: after such a timeout the library may still write into the buffer, so the communicator
/// refuses further collectives and the job should end.
/// </para>
/// </summary>
internal static unsafe class NativeAllReduce
{
    public static void Run<T>(in CollectiveCall call, T* input, T* result, long count, ReduceOp op) where T : unmanaged
    {
        var native = call.Native ?? throw new NotSupportedException($"rank {call.Rank}: the {call.TransportName} transport has no native AllReduce.");
        long offset = 0;
        do // once even for count 0: every rank must make the same library calls
        {
            int n = (int)Math.Min(int.MaxValue, count - offset);
            T* send = input == result ? result + offset : input + offset;
            if (call.TimeoutGiven) call.WaitSend(native.StartAllReduce(send, result + offset, n, call.Type, op));
            else native.AllReduce(send, result + offset, n, call.Type, op);
            offset += n;
        } while (offset < count);
    }
}
