namespace AllReduceNet.Collectives.Operators;

/// <summary>
/// <typeparamref name="TOp"/> with its operands swapped: x op' y = y op x. Receive-reduce computes mine op received;
/// an algorithm that must put the peer's value first (recursive halving, to keep recursive doubling's order, where
/// the order decides which NaN payload survives) receives through this.
/// </summary>
internal readonly struct OperandsSwapped<T, TOp> : IReduceOperator<T> where T : unmanaged where TOp : struct, IReduceOperator<T>
{
    public static void Apply(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) => TOp.Apply(y, x, destination);

    public static T Apply(T x, T y) => TOp.Apply(y, x);
}
