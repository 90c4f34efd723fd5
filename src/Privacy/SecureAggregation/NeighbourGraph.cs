namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// Who masks with whom. Full SecAgg: everyone with everyone. SecAgg+ (Bell et al. 2020, Flower's SecAggPlusWorkflow):
/// a random k-regular graph built as a Harary graph on a seeded random permutation of the clients: place them on a
/// ring in permuted order and join each to the k/2 nearest on either side. Every client and the server build the same
/// graph from the public seed and the sorted ids of the clients that advertised keys.
/// </summary>
internal sealed class NeighbourGraph
{
    private readonly Dictionary<int, int[]> _neighbours;

    private NeighbourGraph(Dictionary<int, int[]> neighbours) => _neighbours = neighbours;

    /// <summary>Builds the graph over <paramref name="clients"/> (sorted ascending, distinct).</summary>
    public static NeighbourGraph Build(IReadOnlyList<int> clients, int? k, ulong seed)
    {
        var neighbours = new Dictionary<int, int[]>(clients.Count);
        int n = clients.Count;
        if (k is not int degree || degree >= n - 1)
        {
            foreach (int u in clients) neighbours[u] = clients.Where(v => v != u).ToArray();
            return new NeighbourGraph(neighbours);
        }
        var ring = clients.ToArray();
        // Seeded Fisher-Yates: the graph is public, so a non-cryptographic generator is fine; it must only be shared.
        var random = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (ring[i], ring[j]) = (ring[j], ring[i]);
        }
        int half = degree / 2;
        for (int p = 0; p < n; p++)
        {
            var list = new int[2 * half];
            for (int d = 1; d <= half; d++)
            {
                list[2 * d - 2] = ring[(p + d) % n];
                list[2 * d - 1] = ring[(p - d + n) % n];
            }
            Array.Sort(list);
            neighbours[ring[p]] = list;
        }
        return new NeighbourGraph(neighbours);
    }

    /// <summary>u's neighbours, sorted, without u.</summary>
    public int[] Of(int u) => _neighbours[u];

    public bool Contains(int u) => _neighbours.ContainsKey(u);

    public bool AreNeighbours(int u, int v) => Array.BinarySearch(_neighbours[u], v) >= 0;
}
