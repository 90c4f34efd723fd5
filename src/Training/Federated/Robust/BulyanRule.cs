namespace AllReduceNet.Training.Federated;

/// <summary>
/// --aggregator bulyan:F (El Mhamdi et al. 2018; Flower's Bulyan): selects theta = n - 2f inputs by Krum applied
/// repeatedly (each time over the inputs not yet selected, with n' - f - 2 neighbours, at least 1), then per coordinate
/// averages the beta = theta - 2f selected values closest to their median (ties by client id), unweighted. Needs
/// n >= 4f + 3. Rejected: inputs Krum did not select; down-weighted: selected inputs kept in fewer than half as many
/// coordinates as a selected input is on average.
/// </summary>
internal sealed class BulyanRule : IRobustRule
{
    /// <param name="byzantine">f, at least 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">f &lt; 0.</exception>
    public BulyanRule(int byzantine)
    {
        if (byzantine < 0) throw new ArgumentOutOfRangeException(nameof(byzantine), byzantine, "bulyan: f must be at least 0.");
        Byzantine = byzantine;
    }

    public int Byzantine { get; }
    public string Name => $"bulyan:{Byzantine}";
    public int MinimumInputs => 4 * Byzantine + 3;
    public string Limit => $"n >= 4f + 3 = {MinimumInputs} for f = {Byzantine}";

    public RobustOutcome Aggregate(IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights)
    {
        int length = RobustMath.Check(this, deltas, weights);
        int n = deltas.Count, theta = n - 2 * Byzantine, beta = theta - 2 * Byzantine;
        var remaining = Enumerable.Range(0, n).ToList();
        var selected = new List<int>(theta);
        while (selected.Count < theta)
        {
            var scores = RobustMath.KrumScores(deltas, remaining, Math.Max(remaining.Count - Byzantine - 2, 1));
            int best = RobustMath.Lowest(scores, 1)[0];
            selected.Add(remaining[best]);
            remaining.RemoveAt(best);
        }
        selected.Sort();

        var mean = new float[length];
        var kept = new long[n];
        var values = new float[theta];
        var distance = new float[theta];
        var order = new int[theta];
        var sorted = new int[theta];
        for (int j = 0; j < length; j++)
        {
            for (int s = 0; s < theta; s++) { values[s] = deltas[selected[s]][j]; sorted[s] = s; }
            RobustMath.SortByValue(values, sorted);
            float median = theta % 2 == 1 ? values[sorted[theta / 2]] : (values[sorted[theta / 2 - 1]] + values[sorted[theta / 2]]) / 2;
            for (int s = 0; s < theta; s++) { distance[s] = Math.Abs(values[s] - median); order[s] = s; }
            RobustMath.SortByValue(distance, order);
            double sum = 0;
            for (int b = 0; b < beta; b++) { sum += values[order[b]]; kept[selected[order[b]]]++; }
            mean[j] = (float)(sum / beta);
        }
        return new RobustOutcome(mean, RobustMath.Complement(n, selected), RobustMath.RarelyKept(kept, beta, length, selected));
    }
}
