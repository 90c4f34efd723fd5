using AllReduceNet.Training.Transport;

namespace AllReduceNet.Training.Training;

/// <summary>
/// How many threads each rank's CPU kernels may use: the node's cores shared among the ranks on it, at least one.
/// In-process ranks are threads of this process; under mpiexec the launcher says how many ranks share the node
/// (MPICH's MPI_LOCALNRANKS, Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE). Kernels that each spread over every core
/// while 8 ranks run on 2 made the ranks fight for the cores: ./run.sh took 2.2 to 2.5 s an epoch that way and
/// 1.6 to 1.9 s with one thread per rank, bitwise the same (benchmarks/RESULTS-training.md).
/// </summary>
internal static class KernelThreads
{
    public static int PerRank(int inProcessRanks)
    {
        int ranksOnNode = WorldLauncher.UnderMpi ? LocalRanksFromLauncher() : inProcessRanks;
        return Math.Max(1, Environment.ProcessorCount / Math.Max(1, ranksOnNode));
    }

    private static int LocalRanksFromLauncher()
    {
        foreach (var name in new[] { "MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE" })
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out int n) && n > 0) return n;
        return 1;   // unknown: assume the rank has the node to itself
    }
}
