using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// The training samples each simulated client owns: disjoint index sets that together are the whole training set
/// (every sample belongs to exactly one client). A pure function of (labels, client count, spec, seed), so every
/// rank computes the same partition without talking. The schemes follow Flower Datasets' IidPartitioner,
/// DirichletPartitioner and ShardPartitioner.
/// </summary>
internal sealed class ClientPartition
{
    /// <summary>Dirichlet draws are repeated until every client has at least this many samples (Flower's min_partition_size).</summary>
    public const int DirichletMinimumSamples = 10;

    private const int DirichletAttempts = 50;

    private ClientPartition(int[][] clients) => Clients = clients;

    /// <summary>Client k's sample indices, ascending.</summary>
    public IReadOnlyList<int[]> Clients { get; }

    public int Count => Clients.Count;

    /// <summary>Samples of client <paramref name="client"/>: its weight in the average.</summary>
    public int SizeOf(int client) => Clients[client].Length;

    /// <summary>Cuts <paramref name="data"/> into <paramref name="clients"/> client datasets.</summary>
    /// <exception cref="TrainingException">There are too few samples for the clients, or the scheme cannot give each client data.</exception>
    public static ClientPartition Create(Dataset data, int clients, PartitionSpec spec, int seed)
    {
        if (clients < 1) throw new TrainingException($"--clients must be at least 1, but was {clients}.");
        if (data.Count < clients)
            throw new TrainingException($"--clients {clients} exceeds the {data.Count} training samples: every client needs at least one sample.");
        var random = FederatedRandom.For(seed, FederatedRandom.Purpose.Partition);
        var parts = spec.Kind switch
        {
            PartitionKind.Iid => Iid(data.Count, clients, random),
            PartitionKind.Dirichlet => Dirichlet(data, clients, spec.Alpha, random),
            _ => Shards(data, clients, spec.ShardsPerClient, random),
        };
        foreach (var part in parts) Array.Sort(part);
        return new ClientPartition(parts);
    }

    private static int[][] Iid(int count, int clients, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        var parts = new int[clients][];
        for (int c = 0; c < clients; c++)
        {
            var (start, length) = EpochSampler.ShardRange(count, c, clients);
            parts[c] = order.AsSpan(start, length).ToArray();
        }
        return parts;
    }

    private static int[][] Shards(Dataset data, int clients, int shardsPerClient, Random random)
    {
        long shardCount = (long)clients * shardsPerClient;
        if (shardCount > data.Count)
            throw new TrainingException($"--partition shards:{shardsPerClient} with --clients {clients} needs {shardCount} shards of at least one sample, but there are {data.Count} training samples.");
        // Sort by label, ties in a seeded random order; cut into equal shards (sizes differ by at most one), so a
        // shard holds one label whenever the class sizes are multiples of the shard size (Fashion-MNIST: 6000 per
        // class, 200 shards of 300 for 100 clients x 2).
        var order = Enumerable.Range(0, data.Count).ToArray();
        random.Shuffle(order);
        var labels = data.Labels;
        order = order.OrderBy(i => labels[i]).ToArray();   // OrderBy is stable
        var shardIds = Enumerable.Range(0, (int)shardCount).ToArray();
        random.Shuffle(shardIds);
        var parts = new int[clients][];
        for (int c = 0; c < clients; c++)
        {
            var mine = new List<int>();
            for (int s = 0; s < shardsPerClient; s++)
            {
                var (start, length) = EpochSampler.ShardRange(data.Count, shardIds[c * shardsPerClient + s], (int)shardCount);
                mine.AddRange(order.AsSpan(start, length).ToArray());
            }
            parts[c] = [.. mine];
        }
        return parts;
    }

    private static int[][] Dirichlet(Dataset data, int clients, double alpha, Random random)
    {
        int minimum = Math.Min(DirichletMinimumSamples, data.Count / clients);
        var byClass = Enumerable.Range(0, data.Classes)
            .Select(k => Enumerable.Range(0, data.Count).Where(i => data.Labels[i] == k).ToArray()).ToArray();
        var proportions = new double[clients];
        for (int attempt = 1; ; attempt++)
        {
            var parts = Enumerable.Range(0, clients).Select(_ => new List<int>()).ToArray();
            foreach (var members in byClass)
            {
                random.Shuffle(members);
                GammaSampler.Dirichlet(random, alpha, proportions);
                // Cut points at the rounded cumulative proportions: the pieces cover the class exactly once.
                double cumulative = 0;
                int start = 0;
                for (int c = 0; c < clients; c++)
                {
                    cumulative += proportions[c];
                    int end = c == clients - 1 ? members.Length : (int)Math.Min(members.Length, Math.Round(cumulative * members.Length));
                    for (int i = start; i < end; i++) parts[c].Add(members[i]);
                    start = Math.Max(start, end);
                }
            }
            int smallest = parts.Min(p => p.Count);
            if (smallest >= minimum) return parts.Select(p => p.ToArray()).ToArray();
            if (attempt == DirichletAttempts)
                throw new TrainingException($"--partition dirichlet:{alpha} with --clients {clients}: after {DirichletAttempts} draws some client still had fewer than {minimum} samples (smallest {smallest}); use a larger alpha or fewer clients.");
        }
    }
}
