namespace AllReduceNet.Collectives.Suite;

/// <summary>
/// The cases every transport runs: each collective x element type x operator x algorithm, at counts that catch the
/// edges of chunking (0, 1, N-1, N+1, uneven), with tiny segments (many in flight) and the default, in place and out
/// of place; plus the calls a transport must refuse by name, and large messages.
/// </summary>
public static class CaseMatrix
{
    public static readonly int[] WorldSizes = [1, 2, 3, 4, 5, 6, 7, 8, 16];

    public static readonly ElementKind[] Types = [ElementKind.Float, ElementKind.Double, ElementKind.Int, ElementKind.Long, ElementKind.Half];

    private static readonly int?[] Segments = [64, null];

    /// <summary>The AllReduce algorithms a transport runs: Direct needs one address space, Native exists only under MPI.</summary>
    public static AllReduceAlgorithm[] Algorithms(SuiteTransport transport) => transport == SuiteTransport.InProcess
        ? [AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.RecursiveHalving, AllReduceAlgorithm.Direct, AllReduceAlgorithm.Hierarchical, AllReduceAlgorithm.Auto]
        : [AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.RecursiveDoubling, AllReduceAlgorithm.RecursiveHalving, AllReduceAlgorithm.Auto, AllReduceAlgorithm.Native];

    /// <summary>
    /// The AllReduce cases of <see cref="Standard"/> for the algorithms that matter across nodes (ring, hierarchical,
    /// Auto, and MPI's own for MPI), every type and operator and edge count, default segments: the multi-node suite, smaller than the
    /// whole matrix so that a job across hosts stays short.
    /// </summary>
    public static IEnumerable<CollectiveCase> AcrossNodes(int ranks, SuiteTransport transport) =>
        AllReduce(ranks, transport, transport == SuiteTransport.InProcess
                ? [AllReduceAlgorithm.Ring, AllReduceAlgorithm.Hierarchical, AllReduceAlgorithm.Auto]
                : [AllReduceAlgorithm.Ring, AllReduceAlgorithm.Hierarchical, AllReduceAlgorithm.Auto, AllReduceAlgorithm.Native])
            .Where(c => c.SegmentBytes is null);

    public static int[] EdgeCounts(int ranks) => new[] { 0, 1, Math.Max(0, ranks - 1), ranks + 1, 7 * ranks + 3 }.Distinct().ToArray();

    /// <summary>Every case for a world of <paramref name="ranks"/> on <paramref name="transport"/>, in the order every rank runs them.</summary>
    public static IEnumerable<CollectiveCase> Standard(int ranks, SuiteTransport transport) =>
        AllReduce(ranks, transport).Concat(Refused(ranks, transport)).Concat(Others(ranks));

    /// <summary>A large float Sum and a large double Average with the default segments: many segments per chunk, uneven tails.</summary>
    public static IEnumerable<CollectiveCase> Large(AllReduceAlgorithm algorithm, int count) =>
    [
        new(Collective.AllReduce, ElementKind.Float, ReduceOp.Sum, count, InPlace: true, algorithm),
        new(Collective.AllReduce, ElementKind.Double, ReduceOp.Average, count / 2 + 3, InPlace: false, algorithm),
    ];

    /// <summary>The other collectives over thousands of elements with 1 KiB segments: many segments, roots at both ends.</summary>
    public static IEnumerable<CollectiveCase> SizableOthers(int ranks) =>
    [
        new(Collective.Broadcast, ElementKind.Double, ReduceOp.Sum, 100_003, InPlace: true, SegmentBytes: 1024, Root: ranks - 1),
        new(Collective.Reduce, ElementKind.Int, ReduceOp.Max, 4099, InPlace: false, SegmentBytes: 1024, Root: ranks - 1),
        new(Collective.Reduce, ElementKind.Float, ReduceOp.Sum, 4099, InPlace: true, SegmentBytes: 1024, Root: 0),
        new(Collective.AllGather, ElementKind.Long, ReduceOp.Sum, 1000, InPlace: false, SegmentBytes: 1024),
        new(Collective.ReduceScatter, ElementKind.Float, ReduceOp.Min, 1000, InPlace: false, SegmentBytes: 1024),
        new(Collective.ReduceScatter, ElementKind.Double, ReduceOp.Sum, 1001, InPlace: true, SegmentBytes: 1024),
    ];

    private static IEnumerable<CollectiveCase> AllReduce(int ranks, SuiteTransport transport, AllReduceAlgorithm[]? algorithms = null) =>
        from algorithm in algorithms ?? Algorithms(transport)
        from type in Types.Append(ElementKind.Byte)
        where !(algorithm == AllReduceAlgorithm.Native && type is ElementKind.Half or ElementKind.Byte)
        from op in Operators(type)
        from count in EdgeCounts(ranks)
        from segment in Segments
        select new CollectiveCase(Collective.AllReduce, type, op, count, InPlace(count, segment), algorithm, segment,
            // Native ignores segments; its rows with the tiny one name a timeout instead, which runs MPI_Iallreduce.
            Timeout: algorithm == AllReduceAlgorithm.Native && segment is not null ? TimeSpan.FromSeconds(60) : null);

    /// <summary>Bytes: sums wrap around and Max compares unsigned.</summary>
    private static ReduceOp[] Operators(ElementKind type) =>
        type == ElementKind.Byte ? [ReduceOp.Sum, ReduceOp.Max] : Enum.GetValues<ReduceOp>();

    /// <summary>Refused on every rank before any message is sent, so the next case runs as usual.</summary>
    private static IEnumerable<CollectiveCase> Refused(int ranks, SuiteTransport transport)
    {
        CollectiveCase Case(AllReduceAlgorithm algorithm, ElementKind type, ReduceOp op, string refusal) =>
            new(Collective.AllReduce, type, op, ranks + 1, InPlace: true, algorithm, Refusal: refusal);
        if (transport == SuiteTransport.InProcess)
        {
            yield return Case(AllReduceAlgorithm.Native, ElementKind.Float, ReduceOp.Sum, "in-process transport has no native AllReduce");
            yield break;
        }
        yield return Case(AllReduceAlgorithm.Direct, ElementKind.Float, ReduceOp.Sum, "only ranks in one address space");
        // MPI's C interface has no 16-bit float, and both installed MPI libraries reduce MPI_UINT8_T wrongly.
        foreach (var op in Enum.GetValues<ReduceOp>())
            yield return Case(AllReduceAlgorithm.Native, ElementKind.Half, op, "cannot reduce Half");
        foreach (var op in Operators(ElementKind.Byte))
            yield return Case(AllReduceAlgorithm.Native, ElementKind.Byte, op, $"cannot reduce Byte with {op}");
    }

    private static IEnumerable<CollectiveCase> Others(int ranks)
    {
        foreach (var type in Types)
            foreach (int count in EdgeCounts(ranks))
                foreach (int? segment in Segments)
                {
                    bool inPlace = InPlace(count, segment);
                    int root = (count + ranks / 2) % ranks; // roots vary: 0, middle, last
                    yield return new(Collective.Broadcast, type, ReduceOp.Sum, count, inPlace, SegmentBytes: segment, Root: root);
                    yield return new(Collective.AllGather, type, ReduceOp.Sum, count, inPlace, SegmentBytes: segment);
                    foreach (var op in Enum.GetValues<ReduceOp>())
                    {
                        yield return new(Collective.Reduce, type, op, count, inPlace, SegmentBytes: segment, Root: root);
                        yield return new(Collective.ReduceScatter, type, op, count, inPlace, SegmentBytes: segment);
                    }
                }
        foreach (int? segment in Segments)
            yield return new(Collective.Barrier, ElementKind.Float, ReduceOp.Sum, 0, InPlace: true, SegmentBytes: segment);
    }

    /// <summary>Both ways for every count: in place with one segment size, out of place with the other.</summary>
    private static bool InPlace(int count, int? segment) => (count % 2 == 0) == (segment is null);
}
