using System.Numerics;
using AllReduceNet.Collectives;

namespace AllReduceNet.Collectives.Suite;

/// <summary>
/// Deterministic per-rank inputs that every rank can compute for every other rank, and the sequential reference they
/// are checked against, in plain scalar code. Integers and Half take small whole numbers (exact; bytes wrap), Prod
/// takes +-1 with an occasional 2 or 0.5 (exact products), Sum and Average on float and double take random fractions:
/// their result depends on the order of the additions, so the bitwise comparison across ranks means something, and the
/// reference is met within a derived bound. The seed tells apart the data of different groups (split communicators).
/// </summary>
public static class TestValues
{
    public static T Value<T>(int rank, long i, ReduceOp op, int seed) where T : unmanaged, INumber<T>
    {
        ulong h = Mix((ulong)(uint)rank * 0x9E3779B97F4A7C15UL ^ (ulong)i * 0xBF58476D1CE4E5B9UL ^ (ulong)(uint)seed * 0x94D049BB133111EBUL);
        if (op == ReduceOp.Prod)
        {
            long k = (i + rank) % 8;
            double v = k == 0 ? 2 : k == 4 && !IsInteger<T>() ? 0.5 : 1;
            return T.CreateTruncating((h & 1) == 0 ? v : -v);
        }
        if (IsInteger<T>() || typeof(T) == typeof(Half))
            return T.CreateTruncating((int)(h % 17) - 8);   // whole numbers in [-8, 8]: sums are exact (bytes wrap)
        double u = (h >> 11) * (1.0 / (1UL << 53));      // [0, 1)
        return T.CreateChecked(2 * u - 1);
    }

    public static T[] Input<T>(int rank, long count, ReduceOp op, int seed) where T : unmanaged, INumber<T>
    {
        var data = new T[count];
        for (long i = 0; i < count; i++) data[i] = Value<T>(rank, i, op, seed);
        return data;
    }

    /// <summary>Element <paramref name="i"/> reduced over the data of <paramref name="members"/>, in that order, one at a time.</summary>
    public static T Reference<T>(int[] members, long i, ReduceOp op, int seed) where T : unmanaged, INumber<T>
    {
        T result = Value<T>(members[0], i, op, seed);
        for (int m = 1; m < members.Length; m++)
        {
            T x = Value<T>(members[m], i, op, seed);
            result = op switch
            {
                ReduceOp.Sum or ReduceOp.Average => unchecked(result + x),
                ReduceOp.Prod => unchecked(result * x),
                ReduceOp.Min => T.Min(result, x),
                ReduceOp.Max => T.Max(result, x),
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
        }
        return op == ReduceOp.Average ? result / T.CreateTruncating(members.Length) : result;
    }

    public static bool IsExact<T>(ReduceOp op) =>
        IsInteger<T>() || typeof(T) == typeof(Half) || op is ReduceOp.Min or ReduceOp.Max or ReduceOp.Prod;

    /// <summary>
    /// How far a float result may lie from the sequential one: any order of N-1 additions is within gamma(N-1) x
    /// sum |x_i| of the exact sum (Higham, Accuracy and Stability, 4.2), and so is the reference; twice that bounds
    /// their difference, plus one rounding of the division for Average.
    /// </summary>
    public static double Bound<T>(int[] members, long i, ReduceOp op, int seed) where T : unmanaged, INumber<T>
    {
        if (IsExact<T>(op)) return 0;
        int n = members.Length;
        double unit = typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);
        double sumAbs = 0;
        foreach (int r in members) sumAbs += Math.Abs(double.CreateChecked(Value<T>(r, i, op, seed)));
        double bound = 2 * (n * unit / (1 - n * unit)) * sumAbs;
        return op == ReduceOp.Average ? bound / n + 2 * unit * sumAbs / n : bound;
    }

    /// <summary>
    /// Null when <paramref name="actual"/> holds elements <paramref name="offset"/>.. of the reduction over
    /// <paramref name="members"/> (exactly, or within <see cref="Bound{T}"/>); else names the first wrong element.
    /// </summary>
    public static string? CheckReduced<T>(ReadOnlySpan<T> actual, int[] members, ReduceOp op, int seed, long offset = 0)
        where T : unmanaged, INumber<T>
    {
        for (int i = 0; i < actual.Length; i++)
        {
            T expected = Reference<T>(members, offset + i, op, seed);
            if (IsExact<T>(op) ? expected.Equals(actual[i]) : Math.Abs(double.CreateChecked(expected) - double.CreateChecked(actual[i])) <= Bound<T>(members, offset + i, op, seed))
                continue;
            return $"element {i} is {actual[i]}, expected {expected}{(IsExact<T>(op) ? " exactly" : $" within {Bound<T>(members, offset + i, op, seed):G3}")}";
        }
        return null;
    }

    /// <summary>Null when <paramref name="actual"/> equals <paramref name="expected"/> bit for bit; else names the first difference.</summary>
    public static string? CheckEqual<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> expected) where T : unmanaged
    {
        if (actual.Length != expected.Length) return $"{actual.Length} elements where {expected.Length} were expected";
        for (int i = 0; i < actual.Length; i++)
            if (!actual[i].Equals(expected[i])) return $"element {i} is {actual[i]}, expected {expected[i]}";
        return null;
    }

    /// <summary>The world ranks 0..n-1, in order.</summary>
    public static int[] Ranks(int n) => Enumerable.Range(0, n).ToArray();

    private static bool IsInteger<T>() => typeof(T) == typeof(int) || typeof(T) == typeof(long) || typeof(T) == typeof(byte);

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
