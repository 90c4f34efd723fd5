namespace AllReduceNet.Collectives.Operators;

/// <summary>
/// A reduction as a struct with static members, so that a loop written once as
/// <c>where TOp : struct, IReduceOperator&lt;T&gt;</c> is specialized and inlined by the JIT for each operator: no
/// delegate and no virtual call in the hot loop. The arithmetic is TensorPrimitives', which is vectorized.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface IReduceOperator<T> where T : unmanaged
{
    /// <summary>destination[i] = x[i] op y[i]. The spans may overlap exactly (in place).</summary>
    static abstract void Apply(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination);

    /// <summary>One element: x op y (for references and scalar tails).</summary>
    static abstract T Apply(T x, T y);
}
