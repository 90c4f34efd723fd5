using System.Numerics.Tensors;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// Aggregation without privacy: every rank sends its reporting clients' update vectors to the server (rank 0,
/// <see cref="PlainUpdateGather"/>), which adds them in ascending client order. One fixed order of float additions,
/// whatever rank simulated which client, is what makes 1, 4 and 8 ranks end with bitwise the same model.
/// </summary>
internal sealed class PlainUpdateAggregator : IUpdateAggregator
{
    public string Name => "plain";

    public AggregatedUpdate? Aggregate(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength)
    {
        var sum = new float[vectorLength];
        int contributors = 0;
        string? firstProblem = null;
        bool server = PlainUpdateGather.AtServer(world, plan, local, vectorLength, (client, vector) =>
        {
            if (firstProblem is null && !(vector[^1] > 0 && float.IsFinite(TensorPrimitives.Sum(vector))))
                firstProblem = $"client {client} reported a non-finite update or a weight that is not positive ({vector[^1]})";
            TensorPrimitives.Add(sum, vector, sum);
            contributors++;
        });
        if (!server) return null;
        double bytes = (double)vectorLength * sizeof(float);
        if (firstProblem is not null) return AggregatedUpdate.Abort(firstProblem, bytes);
        if (contributors == 0) return AggregatedUpdate.Abort($"none of the {plan.Sampled.Count} sampled clients reported", 0);
        return new AggregatedUpdate(sum, contributors, bytes, null);
    }

    public void Dispose() { }
}
