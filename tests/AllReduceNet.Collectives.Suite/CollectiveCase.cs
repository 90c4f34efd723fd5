namespace AllReduceNet.Collectives.Suite;

/// <summary>
/// One collective call that every rank makes with the same arguments. <see cref="Refusal"/>, where set, is part of the
/// message of the <see cref="NotSupportedException"/> that every rank must get instead of a result. <see cref="Seed"/>
/// tells apart the data of groups that run at the same time.
/// </summary>
public sealed record CollectiveCase(
    Collective Collective,
    ElementKind Type,
    ReduceOp Op,
    int Count,
    bool InPlace,
    AllReduceAlgorithm Algorithm = AllReduceAlgorithm.Auto,
    int? SegmentBytes = null,
    int Root = 0,
    int Seed = 0,
    string? Refusal = null,
    TimeSpan? Timeout = null)
{
    public CollectiveOptions Options => new() { Algorithm = Algorithm, SegmentBytes = SegmentBytes, Timeout = Timeout };

    public override string ToString() =>
        $"{Collective}{(Collective == Collective.AllReduce ? $"({Algorithm})" : "")} {Type} {Op} count={Count} " +
        $"segment={SegmentBytes?.ToString() ?? "default"} {(InPlace ? "in place" : "out of place")}" +
        $"{(Collective is Collective.Broadcast or Collective.Reduce ? $" root={Root}" : "")}{(Seed != 0 ? $" seed={Seed}" : "")}" +
        $"{(Refusal is null ? "" : " (refused)")}{(Timeout is null ? "" : $" timeout={Timeout.Value.TotalSeconds} s")}";
}
