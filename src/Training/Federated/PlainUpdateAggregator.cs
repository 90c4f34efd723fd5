using System.Numerics.Tensors;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// Aggregation without privacy: every rank sends its reporting clients' update vectors to the server (rank 0), which
/// adds them in ascending client order. One fixed order of float additions, whatever rank simulated which client,
/// is what makes 1, 4 and 8 ranks end with bitwise the same model.
/// </summary>
internal sealed class PlainUpdateAggregator : IUpdateAggregator
{
    /// <summary>The tag of update messages (user tags of the federated strategies start at 7100).</summary>
    public const int UpdateTag = 7101;

    private const int Server = 0;

    public string Name => "plain";

    public AggregatedUpdate? Aggregate(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength)
    {
        foreach (var update in local)
            if (update.Vector.Length != vectorLength)
                throw new TrainingException($"round {plan.Round + 1}: client {update.Client}'s update has {update.Vector.Length} values, but the model needs {vectorLength} (P + 1).");
        if (world.Rank != Server)
        {
            foreach (var update in local) world.Send<float>(update.Vector, Server, UpdateTag);
            return null;
        }

        var sum = new float[vectorLength];
        // One spare element: a longer message than expected is then seen (and named) rather than failing the receive.
        var received = new float[vectorLength + 1];
        int next = 0, contributors = 0;
        string? firstProblem = null;
        for (int position = 0; position < plan.Sampled.Count; position++)
        {
            if (!plan.Reports(position)) continue;
            int client = plan.Sampled[position], rank = plan.RankOf(position);
            ReadOnlySpan<float> vector;
            if (rank == Server)
            {
                var mine = local[next++];
                if (mine.Client != client)
                    throw new TrainingException($"round {plan.Round + 1}: the server expected client {client}'s update next but its rank produced client {mine.Client}'s.");
                vector = mine.Vector;
            }
            else
            {
                var status = world.Receive<float>(received, rank, UpdateTag);
                if (status.Count<float>() != vectorLength)
                    throw new TrainingException($"round {plan.Round + 1}: client {client} (rank {rank}) sent an update of {status.Count<float>()} values; the model needs {vectorLength} (P + 1).");
                vector = received.AsSpan(0, vectorLength);
            }
            if (firstProblem is null && !(vector[^1] > 0 && float.IsFinite(TensorPrimitives.Sum(vector))))
                firstProblem = $"client {client} reported a non-finite update or a weight that is not positive ({vector[^1]})";
            TensorPrimitives.Add(sum, vector, sum);
            contributors++;
        }
        double bytes = (double)vectorLength * sizeof(float);
        if (firstProblem is not null) return AggregatedUpdate.Abort(firstProblem, bytes);
        if (contributors == 0) return AggregatedUpdate.Abort($"none of the {plan.Sampled.Count} sampled clients reported", 0);
        return new AggregatedUpdate(sum, contributors, bytes, null);
    }

    public void Dispose() { }
}
