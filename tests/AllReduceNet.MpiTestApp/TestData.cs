using System.Numerics;
using System.Numerics.Tensors;
using AllReduceNet.Collectives;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// Deterministic per-rank data that every rank can compute for every other rank, and the sequential reference.
/// The values are small multiples of 1/4 (small integers for integer types, and only ±1, ±2 for products), so every
/// reduction order gives the exact same bits: ring, tree, MPI's and the reference must then agree bitwise.
/// </summary>
internal static class TestData
{
    public static T Value<T>(int rank, long index, ReduceOp op) where T : unmanaged, INumber<T>
    {
        if (op == ReduceOp.Prod)
        {
            long pick = (rank * 7 + index * 13) % 7;
            return T.CreateChecked(pick switch { 0 => 2, 1 => -1, 2 => -2, _ => 1 });
        }
        long v = (rank * 31 + index * 17 + 5) % 23 - 11;
        return IsInteger<T>() ? T.CreateChecked(v) : T.CreateChecked(v * 0.25);
    }

    public static T[] Fill<T>(int rank, long count, ReduceOp op) where T : unmanaged, INumber<T>
    {
        var data = new T[count];
        for (long i = 0; i < count; i++) data[i] = Value<T>(rank, i, op);
        return data;
    }

    /// <summary>Reduces the ranks' data in rank order, one element at a time; Average divides the sum as the library does.</summary>
    public static T[] Reference<T>(int ranks, long count, ReduceOp op) where T : unmanaged, INumber<T> =>
        Reference<T>(Enumerable.Range(0, ranks).ToArray(), count, op);

    /// <summary>The same over the data of the world ranks <paramref name="members"/> (a sub-communicator's), in that order.</summary>
    public static T[] Reference<T>(int[] members, long count, ReduceOp op) where T : unmanaged, INumber<T>
    {
        int ranks = members.Length;
        var result = Fill<T>(members[0], count, op);
        for (int m = 1; m < ranks; m++)
            for (long i = 0; i < count; i++)
            {
                T x = result[i], y = Value<T>(members[m], i, op);
                result[i] = op switch
                {
                    ReduceOp.Sum or ReduceOp.Average => x + y,
                    ReduceOp.Prod => x * y,
                    ReduceOp.Min => T.Min(x, y),
                    ReduceOp.Max => T.Max(x, y),
                    _ => throw new ArgumentOutOfRangeException(nameof(op)),
                };
            }
        if (op == ReduceOp.Average) TensorPrimitives.Divide(result, T.CreateTruncating(ranks), result);
        return result;
    }

    private static bool IsInteger<T>() => typeof(T) == typeof(int) || typeof(T) == typeof(long) || typeof(T) == typeof(byte);
}
