namespace AllReduceNet.Collectives.Algorithms;

/// <summary>
/// The transport library's own AllReduce (MPI_Iallreduce under MPI), run as one more algorithm so that it is the
/// baseline of every benchmark, numbered and checked like the others. Counts above int.MaxValue go in int-sized
/// pieces (element-wise, so the result is the same).
/// <para>
/// The wait honours the call's timeout and peers' failure notices. What MPI does not allow is taking a started
/// collective back: after a timeout the library may still write into the buffer, so the communicator is refused for
/// further collectives and the job should end (an unhandled exception does, through the MPI_Abort hook).
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
            var request = native.StartAllReduce(input == result ? result + offset : input + offset, result + offset, n, call.Type, op);
            call.WaitSend(request);
            offset += n;
        } while (offset < count);
    }
}
