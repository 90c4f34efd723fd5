namespace AllReduceNet.Collectives;

/// <summary>Per-call settings of a collective. The defaults suit most uses; every rank must pass the same values.</summary>
public sealed record CollectiveOptions
{
    /// <summary>The defaults: Auto algorithm, the communicator's timeout, the segment size from the environment.</summary>
    public static CollectiveOptions Default { get; } = new();

    /// <summary>The AllReduce algorithm; <see cref="AllReduceAlgorithm.Auto"/> lets the library choose.</summary>
    public AllReduceAlgorithm Algorithm { get; init; } = AllReduceAlgorithm.Auto;

    /// <summary>How long the whole collective may take; null means the communicator's <see cref="Communicator.DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Bytes per pipelined segment; null means ALLREDUCENET_SEGMENT_BYTES or the built-in default.</summary>
    public int? SegmentBytes { get; init; }

    /// <summary>
    /// Before the collective, exchange every rank's arguments (operation, type, operator, count, root) and fail with
    /// a message listing them all when they differ. Costs one small extra exchange; also on with ALLREDUCENET_VALIDATE=1.
    /// </summary>
    public bool Validate { get; init; }

    /// <summary>
    /// Float and double Sum and Average AllReduce give bitwise the same result whatever the algorithm, transport,
    /// segment size and rank count (binned fixed-point summation, docs/reproducible.md); also on with
    /// ALLREDUCENET_REPRODUCIBLE=1. Other types and operators are exact already and ignore it.
    /// </summary>
    public bool Reproducible { get; init; }
}
