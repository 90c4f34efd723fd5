using System.Numerics;
using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// Deterministic per-rank inputs and the sequential references the collectives are checked against. Values are chosen
/// per operator so the reference is meaningful: integers and Half use small whole numbers (exact), Prod uses powers of
/// two (exact products), Sum and Average on float and double use random fractions, checked within a derived bound.
/// </summary>
public static class TestData
{
    public static T[] Input<T>(int rank, int count, ReduceOp op, int seed = 0) where T : unmanaged, INumber<T>
    {
        var data = new T[count];
        for (int i = 0; i < count; i++) data[i] = Value<T>(rank, i, op, seed);
        return data;
    }

    public static T Value<T>(int rank, int i, ReduceOp op, int seed) where T : unmanaged, INumber<T>
    {
        ulong h = Mix((ulong)(uint)rank * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)i * 0xBF58476D1CE4E5B9UL ^ (ulong)(uint)seed * 0x94D049BB133111EBUL);
        if (op == ReduceOp.Prod)
        {
            // Mostly +-1 with an occasional 2 or 0.5 (1 for integers): products are exact and stay in range.
            int k = (int)((uint)(i + rank) % 8);
            double v = k == 0 ? 2 : k == 4 && !IsInteger<T>() ? 0.5 : 1;
            return T.CreateChecked((h & 1) == 0 ? v : -v);
        }
        if (IsInteger<T>() || typeof(T) == typeof(Half))
            return T.CreateChecked((int)(h % 17) - 8);            // whole numbers in [-8, 8]: sums are exact
        double u = (h >> 11) * (1.0 / (1UL << 53));             // [0, 1)
        return T.CreateChecked(2 * u - 1);
    }

    public static bool IsInteger<T>() => typeof(T) == typeof(int) || typeof(T) == typeof(long);

    public static bool IsExact<T>(ReduceOp op) =>
        IsInteger<T>() || typeof(T) == typeof(Half) || op is ReduceOp.Min or ReduceOp.Max or ReduceOp.Prod;

    /// <summary>The sequential reduction over ranks 0..N-1 in rank order, as plain scalar code.</summary>
    public static T[] Reference<T>(int ranks, int count, ReduceOp op, int seed = 0) where T : unmanaged, INumber<T>
    {
        var result = Input<T>(0, count, op, seed);
        for (int r = 1; r < ranks; r++)
        {
            var x = Input<T>(r, count, op, seed);
            for (int i = 0; i < count; i++)
                result[i] = op switch
                {
                    ReduceOp.Sum or ReduceOp.Average => unchecked(result[i] + x[i]),
                    ReduceOp.Prod => unchecked(result[i] * x[i]),
                    ReduceOp.Min => T.Min(result[i], x[i]),
                    ReduceOp.Max => T.Max(result[i], x[i]),
                    _ => throw new ArgumentOutOfRangeException(nameof(op)),
                };
        }
        if (op == ReduceOp.Average)
            for (int i = 0; i < count; i++) result[i] /= T.CreateChecked(ranks);
        return result;
    }

    /// <summary>
    /// How far a float result may lie from the sequential one: any order of N-1 additions is within
    /// gamma(N-1) x sum |x_i| of the exact sum (Higham, Accuracy and Stability, 4.2), and so is the reference; twice
    /// that bounds their difference, plus one rounding of the division for Average.
    /// </summary>
    public static double Bound<T>(int ranks, int element, ReduceOp op, int seed = 0) where T : unmanaged, INumber<T>
    {
        if (IsExact<T>(op)) return 0;
        double unit = typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);
        double sumAbs = 0;
        for (int r = 0; r < ranks; r++) sumAbs += Math.Abs(double.CreateChecked(Value<T>(r, element, op, seed)));
        double gamma = ranks * unit / (1 - ranks * unit);
        double bound = 2 * gamma * sumAbs;
        if (op == ReduceOp.Average) bound = bound / ranks + 2 * unit * sumAbs / ranks;
        return bound;
    }

    public static void AssertClose<T>(T[] expected, ReadOnlySpan<T> actual, int ranks, ReduceOp op, string context, int seed = 0)
        where T : unmanaged, INumber<T>
    {
        Assert.True(expected.Length <= actual.Length, $"{context}: result has {actual.Length} elements, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            if (IsExact<T>(op))
            {
                if (!expected[i].Equals(actual[i]))
                    Assert.Fail($"{context}: element {i} is {actual[i]}, expected exactly {expected[i]}");
                continue;
            }
            double diff = Math.Abs(double.CreateChecked(expected[i]) - double.CreateChecked(actual[i]));
            double bound = Bound<T>(ranks, i, op, seed);
            if (!(diff <= bound))
                Assert.Fail($"{context}: element {i} is {actual[i]}, expected {expected[i]} within {bound:G3} (off by {diff:G3})");
        }
    }

    /// <summary>Every rank's bytes must equal rank 0's: the results are bitwise identical everywhere.</summary>
    public static void AssertBitwiseIdentical<T>(IReadOnlyList<T[]> perRank, string context) where T : unmanaged
    {
        var first = MemoryMarshal.AsBytes(perRank[0].AsSpan());
        for (int r = 1; r < perRank.Count; r++)
            if (!first.SequenceEqual(MemoryMarshal.AsBytes(perRank[r].AsSpan())))
                Assert.Fail($"{context}: rank {r}'s result differs bitwise from rank 0's");
    }

    /// <summary>Counts that catch the edge cases of chunking: 0, 1, N-1, N+1 and an uneven count.</summary>
    public static int[] EdgeCounts(int ranks) => new[] { 0, 1, Math.Max(0, ranks - 1), ranks + 1, 7 * ranks + 3 }.Distinct().ToArray();

    public static readonly int[] WorldSizes = { 1, 2, 3, 4, 5, 6, 7, 8, 16 };

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
