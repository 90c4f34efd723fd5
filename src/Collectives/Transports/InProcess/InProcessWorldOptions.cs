namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>Settings of an in-process world.</summary>
public sealed record InProcessWorldOptions
{
    /// <summary>Every communicator's <see cref="Communicator.DefaultTimeout"/>; null keeps ALLREDUCENET_TIMEOUT_SECONDS or 300 s.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// How many rounds a wait spins before it blocks (a round spins, then backs off to yielding). Null picks 100 when
    /// there are no more ranks than cores; with more ranks than cores, null makes a wait instead only yield the core
    /// (sched_yield) for up to 2 ms before it blocks, so a waiting rank lets the others run yet wakes far sooner than from a blocked
    /// wait (measured with 8 ranks on 2 cores: a tree AllReduce of 512 B took 105 us blocking at once, 22 us yielding).
    /// </summary>
    public int? SpinIterations { get; init; }

    /// <summary>
    /// Simulates nodes: world ranks 0..k-1 on node 0, k..2k-1 on node 1, and so on (the last node may hold fewer),
    /// as MPI_Comm_split_type would report them, so the hierarchical AllReduce and Auto's choice of it run in-process.
    /// Null (the default): all ranks on one node.
    /// </summary>
    public int? RanksPerNode { get; init; }
}
