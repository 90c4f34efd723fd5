using AllReduceNet.Collectives;

namespace AllReduceNet.MpiTestApp;

/// <summary>Jobs that must fail loudly and end (never hang): the tests check their exit code and output.</summary>
internal static class ErrorScenarios
{
    /// <summary>Rank 0 passes 1000 floats, the others 1001: the ring's first exchange tells them apart.</summary>
    public static void MismatchedCounts(Communicator world)
    {
        var data = new float[world.Rank == 0 ? 1000 : 1001];
        world.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring });
        Console.WriteLine($"rank {world.Rank}: the mismatched AllReduce returned, which it must not");
    }

    /// <summary>Rank 1 throws while every other rank waits for it in a barrier with a long timeout.</summary>
    public static void ThrowingRank(Communicator world)
    {
        if (world.Rank == 1) throw new InvalidOperationException("rank 1 fails on purpose");
        world.Barrier(new CollectiveOptions { Timeout = TimeSpan.FromMinutes(5) });
        Console.WriteLine($"rank {world.Rank}: passed the barrier that rank 1 never reached, which it must not");
    }
}
