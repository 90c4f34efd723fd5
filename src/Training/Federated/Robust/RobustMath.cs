using System.Numerics.Tensors;

namespace AllReduceNet.Training.Federated;

/// <summary>Pieces the robust rules share: input checks, the weighted mean, Krum's scores and coordinate-wise trimming.</summary>
internal static class RobustMath
{
    /// <summary>Checks count and lengths; returns the vector length.</summary>
    public static int Check(IRobustRule rule, IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights)
    {
        if (deltas.Count != weights.Count)
            throw new ArgumentException($"{rule.Name}: {deltas.Count} deltas but {weights.Count} weights.");
        if (deltas.Count < rule.MinimumInputs)
            throw new ArgumentException($"{rule.Name} needs at least {rule.MinimumInputs} updates ({rule.Limit}), but got {deltas.Count}.");
        int length = deltas[0].Length;
        for (int i = 0; i < deltas.Count; i++)
        {
            if (deltas[i].Length != length)
                throw new ArgumentException($"{rule.Name}: update {i} has {deltas[i].Length} values, update 0 has {length}.");
            if (!(weights[i] > 0)) throw new ArgumentException($"{rule.Name}: update {i} has weight {weights[i]}; weights must be positive.");
        }
        return length;
    }

    /// <summary>Sum of weight_i x delta_i over <paramref name="chosen"/>, divided by their total weight (accumulated in double).</summary>
    public static float[] WeightedMean(IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights, IReadOnlyList<int> chosen, IReadOnlyList<double>? scales = null)
    {
        int length = deltas[0].Length;
        var sum = new double[length];
        double total = 0;
        for (int c = 0; c < chosen.Count; c++)
        {
            int i = chosen[c];
            double w = weights[i] * (scales?[c] ?? 1.0);
            total += weights[i];
            var delta = deltas[i];
            for (int j = 0; j < length; j++) sum[j] += w * delta[j];
        }
        var mean = new float[length];
        for (int j = 0; j < length; j++) mean[j] = (float)(sum[j] / total);
        return mean;
    }

    /// <summary>
    /// Krum's score of each input among <paramref name="candidates"/> (Blanchard et al. 2017): the sum of its squared
    /// distances to its <paramref name="neighbours"/> closest other candidates.
    /// </summary>
    public static double[] KrumScores(IReadOnlyList<float[]> deltas, IReadOnlyList<int> candidates, int neighbours)
    {
        int n = candidates.Count;
        var distances = new double[n, n];
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++)
            {
                double d = TensorPrimitives.Distance<float>(deltas[candidates[a]], deltas[candidates[b]]);
                distances[a, b] = distances[b, a] = d * d;
            }
        var scores = new double[n];
        var row = new double[n - 1];
        for (int a = 0; a < n; a++)
        {
            for (int b = 0, k = 0; b < n; b++) if (b != a) row[k++] = distances[a, b];
            Array.Sort(row);
            for (int k = 0; k < Math.Min(neighbours, row.Length); k++) scores[a] += row[k];
        }
        return scores;
    }

    /// <summary>The positions of the <paramref name="count"/> lowest scores; ties go to the lower position.</summary>
    public static int[] Lowest(double[] scores, int count) =>
        Enumerable.Range(0, scores.Length).OrderBy(i => scores[i]).ThenBy(i => i).Take(count).ToArray();

    /// <summary>
    /// Coordinate-wise: per coordinate, sorts the inputs' values (ties by input index) and averages those at sorted
    /// positions [<paramref name="drop"/>, n - <paramref name="drop"/>) (unweighted). Returns the mean and, per input,
    /// in how many coordinates its value was kept.
    /// </summary>
    public static (float[] Mean, long[] Kept) TrimmedMean(IReadOnlyList<float[]> deltas, int drop)
    {
        int n = deltas.Count, length = deltas[0].Length, keep = n - 2 * drop;
        var mean = new float[length];
        var kept = new long[n];
        var order = new int[n];
        var values = new float[n];
        for (int j = 0; j < length; j++)
        {
            for (int i = 0; i < n; i++) { values[i] = deltas[i][j]; order[i] = i; }
            SortByValue(values, order);
            double sum = 0;
            for (int p = drop; p < n - drop; p++) { sum += values[order[p]]; kept[order[p]]++; }
            mean[j] = (float)(sum / keep);
        }
        return (mean, kept);
    }

    /// <summary>Insertion sort of <paramref name="order"/> by value, ties by index: n is small (clients of a round).</summary>
    public static void SortByValue(float[] values, int[] order)
    {
        for (int a = 1; a < order.Length; a++)
        {
            int item = order[a];
            int b = a - 1;
            while (b >= 0 && (values[order[b]] > values[item] || (values[order[b]] == values[item] && order[b] > item)))
            {
                order[b + 1] = order[b];
                b--;
            }
            order[b + 1] = item;
        }
    }

    /// <summary>
    /// Inputs a coordinate-wise rule down-weighted: those of <paramref name="among"/> kept in fewer than half the
    /// coordinates an input of them is kept in on average (<paramref name="keptPerCoordinate"/> of them per coordinate,
    /// over <paramref name="length"/> coordinates). Such an input was an outlier in most coordinates; one kept about as
    /// often as the others was merely trimmed by chance.
    /// </summary>
    public static int[] RarelyKept(long[] kept, int keptPerCoordinate, int length, IReadOnlyCollection<int> among)
    {
        double expected = (double)length * keptPerCoordinate / among.Count;
        return among.Where(i => kept[i] < expected / 2).Order().ToArray();
    }

    public static int[] Complement(int n, IEnumerable<int> chosen)
    {
        var set = new HashSet<int>(chosen);
        return Enumerable.Range(0, n).Where(i => !set.Contains(i)).ToArray();
    }
}
