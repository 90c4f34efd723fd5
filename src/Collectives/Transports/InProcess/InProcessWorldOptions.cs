namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>Settings of an in-process world.</summary>
public sealed record InProcessWorldOptions
{
    /// <summary>Every communicator's <see cref="Communicator.DefaultTimeout"/>; null keeps ALLREDUCENET_TIMEOUT_SECONDS or 300 s.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// How many rounds a wait polls before it blocks. Null picks 100 when there are no more ranks than cores (a round
    /// spins, then backs off to yielding) and 200 otherwise (a round only yields the core, sched_yield, so an
    /// oversubscribed rank that waits lets the others run, yet wakes far sooner than from a blocked wait: measured
    /// with 8 ranks on 2 cores, a tree AllReduce of 512 B took 105 us blocking at once, 22 us with 200 yields).
    /// </summary>
    public int? SpinIterations { get; init; }
}
