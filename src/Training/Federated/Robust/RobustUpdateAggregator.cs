using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// --aggregator other than the plain mean: every rank sends its reporting clients' updates to the server (rank 0) in
/// the clear, as <see cref="PlainUpdateAggregator"/> does, and the server applies the <see cref="IRobustRule"/> to their
/// deltas (each update divided by its weight) instead of summing them. The result goes to the server step as
/// <c>[delta, 1]</c>, so <see cref="ServerOptimizer"/> is unchanged. A non-finite update or one whose weight is not
/// positive is rejected (a robust rule survives garbage rather than aborting the round); fewer usable updates than the
/// rule's limit (dropouts) abort the round with the rule, n and the limit named.
/// </summary>
internal sealed class RobustUpdateAggregator : IUpdateAggregator
{
    private readonly IRobustRule _rule;

    public RobustUpdateAggregator(IRobustRule rule) => _rule = rule;

    public string Name => $"robust {_rule.Name} over plain updates";

    public AggregatedUpdate? Aggregate(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength)
    {
        var inputs = new List<(int[] Clients, float[] Vector)>();
        if (!PlainUpdateGather.AtServer(world, plan, local, vectorLength, (client, vector) => inputs.Add(([client], vector.ToArray()))))
            return null;
        return Combine(_rule, inputs, (double)vectorLength * sizeof(float));
    }

    /// <summary>
    /// Applies <paramref name="rule"/> to weighted update vectors <c>[sum n_k delta_k, sum n_k]</c>, each standing for
    /// the clients it names (one client, or a secure group). Returns the aggregate <c>[delta, 1]</c> with the rejected
    /// and down-weighted clients, or an abort when fewer usable inputs remain than the rule needs.
    /// </summary>
    public static AggregatedUpdate Combine(IRobustRule rule, IReadOnlyList<(int[] Clients, float[] Vector)> inputs, double bytesSentPerClient)
    {
        var usable = new List<int>(inputs.Count);
        var rejected = new List<int>();
        for (int i = 0; i < inputs.Count; i++)
        {
            var vector = inputs[i].Vector;
            bool finite = vector[^1] > 0 && float.IsFinite(vector[^1]);
            for (int j = 0; finite && j < vector.Length - 1; j++) finite = float.IsFinite(vector[j]);
            if (finite) usable.Add(i); else rejected.AddRange(inputs[i].Clients);
        }
        if (usable.Count == 0)
            return AggregatedUpdate.Abort(inputs.Count == 0 ? "no client reported" : $"none of the {inputs.Count} updates was finite with a positive weight", bytesSentPerClient)
                with { Rejected = [.. rejected.Order()], DownWeighted = [] };
        if (usable.Count < rule.MinimumInputs)
            return AggregatedUpdate.Abort($"{rule.Name} needs n >= {rule.MinimumInputs} updates ({rule.Limit}), but only n = {usable.Count} were usable", bytesSentPerClient)
                with { Rejected = [.. rejected.Order()], DownWeighted = [] };

        int length = inputs[usable[0]].Vector.Length - 1;
        var deltas = new float[usable.Count][];
        var weights = new double[usable.Count];
        for (int u = 0; u < usable.Count; u++)
        {
            var vector = inputs[usable[u]].Vector;
            weights[u] = vector[^1];
            deltas[u] = new float[length];
            for (int j = 0; j < length; j++) deltas[u][j] = vector[j] / vector[^1];
        }
        var outcome = rule.Aggregate(deltas, weights);
        foreach (int u in outcome.Rejected) rejected.AddRange(inputs[usable[u]].Clients);
        var downWeighted = outcome.DownWeighted.SelectMany(u => inputs[usable[u]].Clients).Order().ToArray();
        var sum = new float[length + 1];
        outcome.Delta.CopyTo(sum, 0);
        sum[^1] = 1;
        int contributors = inputs.Sum(i => i.Clients.Length) - rejected.Count;
        return new AggregatedUpdate(sum, contributors, bytesSentPerClient, null) { Rejected = [.. rejected.Order()], DownWeighted = downWeighted };
    }

    public void Dispose() { }
}
