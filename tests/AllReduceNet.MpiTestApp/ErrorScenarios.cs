using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.MpiTestApp;

/// <summary>Jobs that must fail loudly and end (never hang): the tests check their exit code and output.</summary>
internal static class ErrorScenarios
{
    private static readonly CollectiveOptions Ring = new() { Algorithm = AllReduceAlgorithm.Ring };

    /// <summary>Rank 0 passes 1000 floats, the others 1001: the ring's first exchange tells them apart.</summary>
    public static void MismatchedCounts(Communicator world)
    {
        var data = new float[world.Rank == 0 ? 1000 : 1001];
        world.AllReduce<float>(data, ReduceOp.Sum, Ring);
        Console.WriteLine($"rank {world.Rank}: the mismatched AllReduce returned, which it must not");
    }

    /// <summary>
    /// Rank 0 reduces with Sum, the others with Max: the same count and type, so every message has the length its
    /// receiver expects (a shared-memory receive-reduce then reduces it) and only the signature tells them apart.
    /// </summary>
    /// At 2 ranks each rank's first receive is the mismatched one, so its buffer must come back as it was ("kept").
    public static void MismatchedOperators(Communicator world)
    {
        var data = Enumerable.Range(0, 4099).Select(i => (float)(i % 17 + world.Rank)).ToArray();
        var input = (float[])data.Clone();
        try
        {
            world.AllReduce<float>(data, world.Rank == 0 ? ReduceOp.Sum : ReduceOp.Max, Ring);
        }
        catch (CollectiveMismatchException)
        {
            Console.WriteLine(data.AsSpan().SequenceEqual(input)
                ? $"rank {world.Rank}: the buffer kept its input"
                : $"rank {world.Rank}: the buffer was changed by the mismatched message");
            throw;
        }
        Console.WriteLine($"rank {world.Rank}: the AllReduce with mismatched operators returned, which it must not");
    }

    /// <summary>Rank 0 reduces 4099 floats, the others 4099 ints: the same bytes on the wire, different element types.</summary>
    public static void MismatchedTypes(Communicator world)
    {
        if (world.Rank == 0) world.AllReduce<float>(new float[4099], ReduceOp.Sum, Ring);
        else world.AllReduce<int>(new int[4099], ReduceOp.Sum, Ring);
        Console.WriteLine($"rank {world.Rank}: the AllReduce with mismatched element types returned, which it must not");
    }

    /// <summary>
    /// Rank 0 calls AllReduce, the others a Broadcast from the last rank, of the same 4099 floats: rank 0 receives a
    /// Broadcast segment (of another length than the ring chunk it expects) where its ring expected a chunk. The
    /// Broadcast may well finish on the other ranks (its root only sends); rank 0's AllReduce must not.
    /// </summary>
    public static void MismatchedCollectives(Communicator world)
    {
        var data = new float[4099];
        if (world.Rank == 0)
        {
            world.AllReduce<float>(data, ReduceOp.Sum, Ring);
            Console.WriteLine("rank 0: the AllReduce that met a Broadcast returned, which it must not");
        }
        else world.Broadcast<float>(data, world.Size - 1);
    }

    /// <summary>
    /// The last rank skips a collective and sleeps; the others call an AllReduce of 100000 floats (or, with
    /// <paramref name="broadcast"/> and 2 ranks, a Broadcast of them from rank 0, whose send cannot complete once the
    /// queue to the skipping rank is full: run it with slots too small for 400 KB). They must time out after the world's timeout (ALLREDUCENET_TIMEOUT_SECONDS) and end the
    /// job, not wait forever. Should the collective return, the job is ended here all the same, so the test never hangs.
    /// </summary>
    public static void SkippedCollective(Communicator world, bool broadcast)
    {
        int skipper = world.Size - 1;
        if (world.Rank == skipper)
        {
            Thread.Sleep(TimeSpan.FromSeconds(90));
            MpiRuntime.Abort(5, $"rank {skipper} skipped a collective and nobody ended the job within 90 s");
        }
        var data = new float[100_000];
        if (broadcast) world.Broadcast<float>(data, 0);
        else world.AllReduce<float>(data, ReduceOp.Sum, Ring);
        Console.WriteLine($"rank {world.Rank}: the collective that rank {skipper} skipped returned, which it must not");
        MpiRuntime.Abort(4, "a collective that one rank skipped returned");
    }

    /// <summary>Rank 1 throws while every other rank waits for it in a barrier with a long timeout.</summary>
    public static void ThrowingRank(Communicator world)
    {
        if (world.Rank == 1) throw new InvalidOperationException("rank 1 fails on purpose");
        world.Barrier(new CollectiveOptions { Timeout = TimeSpan.FromMinutes(5) });
        Console.WriteLine($"rank {world.Rank}: passed the barrier that rank 1 never reached, which it must not");
    }
}
