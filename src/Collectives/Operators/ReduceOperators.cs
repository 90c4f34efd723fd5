using System.Numerics;
using System.Numerics.Tensors;

namespace AllReduceNet.Collectives.Operators;

/// <summary>Element-wise sum.</summary>
internal readonly struct SumOperator<T> : IReduceOperator<T> where T : unmanaged, INumber<T>
{
    /// <inheritdoc/>
    public static void Apply(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) => TensorPrimitives.Add(x, y, destination);
    /// <inheritdoc/>
    public static T Apply(T x, T y) => x + y;
}

/// <summary>Element-wise product.</summary>
internal readonly struct ProdOperator<T> : IReduceOperator<T> where T : unmanaged, INumber<T>
{
    /// <inheritdoc/>
    public static void Apply(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) => TensorPrimitives.Multiply(x, y, destination);
    /// <inheritdoc/>
    public static T Apply(T x, T y) => x * y;
}

/// <summary>Element-wise minimum (NaN propagates for floating point).</summary>
internal readonly struct MinOperator<T> : IReduceOperator<T> where T : unmanaged, INumber<T>
{
    /// <inheritdoc/>
    public static void Apply(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) => TensorPrimitives.Min(x, y, destination);
    /// <inheritdoc/>
    public static T Apply(T x, T y) => T.Min(x, y);
}

/// <summary>Element-wise maximum (NaN propagates for floating point).</summary>
internal readonly struct MaxOperator<T> : IReduceOperator<T> where T : unmanaged, INumber<T>
{
    /// <inheritdoc/>
    public static void Apply(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) => TensorPrimitives.Max(x, y, destination);
    /// <inheritdoc/>
    public static T Apply(T x, T y) => T.Max(x, y);
}
