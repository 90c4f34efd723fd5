namespace AllReduceNet.Training.Data;

/// <summary>
/// The order of samples in an epoch: a permutation seeded by (seed, epoch), so every rank computes the same one
/// without talking. Global batch b holds positions [b B, (b + 1) B) of it; the remainder that does not fill a batch
/// is dropped. Worker w of W takes the slice [B w / W, B (w + 1) / W) of each global batch, so slices differ by at
/// most one sample and together are exactly the global batch.
/// </summary>
internal sealed class EpochSampler
{
    private readonly int[] _order;

    public EpochSampler(int sampleCount, int globalBatch, int seed, int epoch)
    {
        GlobalBatch = globalBatch;
        _order = new int[sampleCount];
        for (int i = 0; i < sampleCount; i++) _order[i] = i;
        // Not HashCode.Combine: it is randomized per process, and MPI ranks are processes.
        new Random(unchecked(seed * 1_000_003 + epoch * 7919 + 17)).Shuffle(_order);
        StepCount = sampleCount / globalBatch;
    }

    public int GlobalBatch { get; }
    public int StepCount { get; }

    /// <summary>The whole global batch of step <paramref name="step"/>.</summary>
    public ReadOnlySpan<int> Batch(int step) => _order.AsSpan(step * GlobalBatch, GlobalBatch);

    /// <summary>Worker <paramref name="worker"/>'s slice of step <paramref name="step"/>'s global batch.</summary>
    public ReadOnlySpan<int> Shard(int step, int worker, int workers)
    {
        var (start, length) = ShardRange(GlobalBatch, worker, workers);
        return Batch(step).Slice(start, length);
    }

    public static (int Start, int Length) ShardRange(int total, int part, int parts)
    {
        int start = (int)((long)total * part / parts);
        int end = (int)((long)total * (part + 1) / parts);
        return (start, end - start);
    }
}
