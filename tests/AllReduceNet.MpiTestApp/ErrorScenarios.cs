using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// A job that must end at its timeout (never hang): the tests check its exit code and output. Mismatches and throwing
/// ranks, which must end the job at once, are <see cref="Collectives.Suite.MismatchScenario"/>s.
/// </summary>
internal static class ErrorScenarios
{
    private static readonly CollectiveOptions Ring = new() { Algorithm = AllReduceAlgorithm.Ring };

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
}
