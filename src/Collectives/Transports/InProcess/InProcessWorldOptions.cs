namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>Settings of an in-process world.</summary>
public sealed record InProcessWorldOptions
{
    /// <summary>Every communicator's <see cref="Communicator.DefaultTimeout"/>; null keeps ALLREDUCENET_TIMEOUT_SECONDS or 300 s.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// How many times a wait spins before it blocks. Null picks: a short spin when there are no more ranks than cores,
    /// none otherwise (spinning ranks would steal the cores the others need to make progress).
    /// </summary>
    public int? SpinIterations { get; init; }
}
