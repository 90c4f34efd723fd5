namespace AllReduceNet.Collectives.Operators;

/// <summary>Stands in for the operator of data-movement collectives (all-gather, broadcast), which never reduce.</summary>
internal readonly struct NoOperator<T> : IReduceOperator<T> where T : unmanaged
{
    public static void Apply(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) =>
        throw new InvalidOperationException("A data-movement collective tried to reduce.");

    public static T Apply(T x, T y) =>
        throw new InvalidOperationException("A data-movement collective tried to reduce.");
}
