namespace AllReduceNet.Training.Federated;

/// <summary>How the training set is cut into client datasets.</summary>
internal enum PartitionKind
{
    /// <summary>A seeded shuffle cut into equal parts (sizes differ by at most one).</summary>
    Iid,
    /// <summary>Label skew: each class is spread over the clients in proportions drawn from Dirichlet(alpha).</summary>
    Dirichlet,
    /// <summary>The FedAvg paper's pathological split: samples sorted by label, cut into shards, S shards per client.</summary>
    Shards,
}
