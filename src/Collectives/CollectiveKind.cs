namespace AllReduceNet.Collectives;

/// <summary>
/// Which collective (and, for AllReduce, which algorithm) a message belongs to. Four bits of every collective tag,
/// so that ranks that call different collectives, or pick different algorithms, are told so at the first message.
/// </summary>
internal enum CollectiveKind : byte
{
    Internal = 0,
    AllReduceRing = 1,
    AllReduceTree = 2,
    Broadcast = 3,
    Reduce = 4,
    AllGather = 5,
    ReduceScatter = 6,
    Barrier = 7,
    AllReduceRecursiveDoubling = 8,
    AllReduceDirect = 9,
    AllReduceNative = 10,
    AllReduceHierarchical = 11,
    /// <summary>The reproducible float sum's fused ring (Algorithms/ReproducibleRing.cs): floats or 64-bit partial sums, then floats.</summary>
    ReproducibleSum = 12,
    AllReduceRecursiveHalving = 13,
}

/// <summary>
/// The tag of a collective message: kind (4 bits), element type (3 bits), operator (3 bits) and the low 5 bits of the
/// call number. 15 bits in all, the tag range every MPI library must support.
/// </summary>
internal static class CollectiveSignature
{
    public static int Tag(CollectiveKind kind, ElementType type, ReduceOp? op, long callNumber) =>
        (((int)kind & 15) << 11) | (((int)type & 7) << 8) | (((int)(op ?? 0) & 7) << 5) | (int)(callNumber & 31);

    /// <summary>True when both tags carry the same call number (mod 32).</summary>
    public static bool SameCall(int tag, int other) => (tag & 31) == (other & 31);

    /// <summary>The collective (and algorithm) a tag names.</summary>
    public static CollectiveKind KindOf(int tag) => (CollectiveKind)((tag >> 11) & 15);

    /// <summary>True when both tags are AllReduce messages (of any algorithm), for reporting a count mismatch that made Auto choose differently.</summary>
    public static bool BothAllReduce(int tag, int other) => IsAllReduce(KindOf(tag)) && IsAllReduce(KindOf(other));

    private static bool IsAllReduce(CollectiveKind kind) =>
        kind is CollectiveKind.AllReduceRing or CollectiveKind.AllReduceTree or CollectiveKind.AllReduceRecursiveDoubling or CollectiveKind.AllReduceDirect or CollectiveKind.AllReduceNative or CollectiveKind.AllReduceHierarchical or CollectiveKind.AllReduceRecursiveHalving;

    public static string Describe(int tag)
    {
        var kind = KindOf(tag);
        var type = (ElementType)((tag >> 8) & 7);
        int op = (tag >> 5) & 7;
        var opText = op == 0 ? "" : $" with {(ReduceOp)op}";
        return $"{KindName(kind)} of {ElementTypes.Name(type)}{opText} (call number {tag & 31} mod 32)";
    }

    public static string KindName(CollectiveKind kind) => kind switch
    {
        CollectiveKind.AllReduceRing => "AllReduce(ring)",
        CollectiveKind.AllReduceTree => "AllReduce(tree)",
        CollectiveKind.AllReduceRecursiveDoubling => "AllReduce(recursive doubling)",
        CollectiveKind.AllReduceDirect => "AllReduce(direct)",
        CollectiveKind.AllReduceNative => "AllReduce(native)",
        CollectiveKind.AllReduceHierarchical => "AllReduce(hierarchical)",
        CollectiveKind.AllReduceRecursiveHalving => "AllReduce(recursive halving)",
        CollectiveKind.ReproducibleSum => "AllReduce(reproducible ring)",
        CollectiveKind.Internal => "an internal exchange (Split or argument check)",
        _ => kind.ToString(),
    };
}
