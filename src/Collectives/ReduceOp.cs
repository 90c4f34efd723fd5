namespace AllReduceNet.Collectives;

/// <summary>The reduction a collective applies element by element.</summary>
public enum ReduceOp
{
    /// <summary>The sum of the ranks' values.</summary>
    Sum = 1,
    /// <summary>The product of the ranks' values.</summary>
    Prod = 2,
    /// <summary>The smallest value (for floating point, NaN wins, as in <see cref="Math.Min(double, double)"/>).</summary>
    Min = 3,
    /// <summary>The largest value (for floating point, NaN wins).</summary>
    Max = 4,
    /// <summary>The sum divided by the number of ranks (integer division, truncating, for integer types).</summary>
    Average = 5,
}
