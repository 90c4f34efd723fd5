using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Federated;

/// <summary>Sees one reporting client's update vector on the server; the span is valid only during the call.</summary>
internal delegate void UpdateVisitor(int client, ReadOnlySpan<float> vector);

/// <summary>
/// How the aggregators that see every update in the clear (plain sum, robust rules) move them: every rank sends its
/// reporting clients' update vectors to the server (rank 0), which visits them in the plan's order, the same whatever
/// rank simulated which client.
/// </summary>
internal static class PlainUpdateGather
{
    /// <summary>The tag of update messages (user tags of the federated strategies start at 7100).</summary>
    public const int UpdateTag = 7101;

    public const int Server = 0;

    /// <summary>
    /// Sends this rank's updates to the server, or, on the server, hands every reporting client's update to
    /// <paramref name="visit"/> in plan order. Returns false on the other ranks (nothing to aggregate there).
    /// </summary>
    public static bool AtServer(Communicator world, RoundPlan plan, IReadOnlyList<ClientUpdate> local, int vectorLength, UpdateVisitor visit)
    {
        foreach (var update in local)
            if (update.Vector.Length != vectorLength)
                throw new TrainingException($"round {plan.Round + 1}: client {update.Client}'s update has {update.Vector.Length} values, but the model needs {vectorLength} (P + 1).");
        if (world.Rank != Server)
        {
            foreach (var update in local) world.Send<float>(update.Vector, Server, UpdateTag);
            return false;
        }

        // One spare element: a longer message than expected is then seen (and named) rather than failing the receive.
        var received = new float[vectorLength + 1];
        int next = 0;
        for (int position = 0; position < plan.Sampled.Count; position++)
        {
            if (!plan.Reports(position)) continue;
            int client = plan.Sampled[position], rank = plan.RankOf(position);
            if (rank == Server)
            {
                var mine = local[next++];
                if (mine.Client != client)
                    throw new TrainingException($"round {plan.Round + 1}: the server expected client {client}'s update next but its rank produced client {mine.Client}'s.");
                visit(client, mine.Vector);
            }
            else
            {
                var status = world.Receive<float>(received, rank, UpdateTag);
                if (status.Count<float>() != vectorLength)
                    throw new TrainingException($"round {plan.Round + 1}: client {client} (rank {rank}) sent an update of {status.Count<float>()} values; the model needs {vectorLength} (P + 1).");
                visit(client, received.AsSpan(0, vectorLength));
            }
        }
        return true;
    }
}
