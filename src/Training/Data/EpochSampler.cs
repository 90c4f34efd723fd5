using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Data;

/// <summary>
/// The order of samples in an epoch: a permutation seeded by (seed, epoch), so every rank computes the same one
/// without talking. Global batch b holds positions [b B, (b + 1) B) of it; the remainder that does not fill a batch
/// is dropped. Worker w of W takes the slice [B w / W, B (w + 1) / W) of each global batch, so slices differ by at
/// most one sample and together are exactly the global batch.
/// <para>
/// <see cref="Poisson"/> is the sampling DP-SGD's accountant assumes instead: each step holds every sample
/// independently with probability q = B / N, so batches vary in size around the expected B.
/// </para>
/// </summary>
internal sealed class EpochSampler
{
    private readonly int[] _order;
    /// <summary>Poisson sampling: batch b is _order[_starts[b] .. _starts[b + 1]); null for fixed batches.</summary>
    private readonly int[]? _starts;

    public EpochSampler(int sampleCount, int globalBatch, int seed, int epoch)
    {
        GlobalBatch = globalBatch;
        _order = new int[sampleCount];
        for (int i = 0; i < sampleCount; i++) _order[i] = i;
        // Not HashCode.Combine: it is randomized per process, and MPI ranks are processes.
        new Random(unchecked(seed * 1_000_003 + epoch * 7919 + 17)).Shuffle(_order);
        StepCount = sampleCount / globalBatch;
    }

    private EpochSampler(int[] order, int[] starts, int expectedBatch)
    {
        _order = order;
        _starts = starts;
        GlobalBatch = expectedBatch;
        StepCount = starts.Length - 1;
    }

    /// <summary>
    /// Poisson sampling (as Opacus' DPDataLoader): N / B steps, each of which holds every sample independently with
    /// probability q = B / N, drawn from a Philox stream of <paramref name="secret"/> and the epoch. The secret must be
    /// unknown to whoever sees the model (the accountant assumes the adversary does not know which samples a step used),
    /// and the same on every rank so that the ranks agree on the batches.
    /// </summary>
    /// <param name="sampleCount">N, the training samples.</param>
    /// <param name="expectedBatch">B, the expected batch; <see cref="GlobalBatch"/> reports it.</param>
    /// <param name="secret">The run's sampling key.</param>
    /// <param name="epoch">The epoch, so that epochs draw independent batches.</param>
    public static EpochSampler Poisson(int sampleCount, int expectedBatch, Seed128 secret, int epoch)
    {
        int steps = sampleCount / expectedBatch;
        double q = (double)expectedBatch / sampleCount;
        // Uniforms from 32-bit words: P(word < threshold) = q up to 2^-32.
        uint threshold = (uint)Math.Min(Math.Round(q * 4294967296.0), uint.MaxValue);
        var order = new List<int>(steps * expectedBatch + 64);
        var starts = new int[steps + 1];
        var key = new Seed128(secret.W0 ^ (uint)epoch, secret.W1, secret.W2, secret.W3);
        long word = 0;
        UInt4 block = default;
        for (int step = 0; step < steps; step++)
        {
            starts[step] = order.Count;
            for (int i = 0; i < sampleCount; i++, word++)
            {
                if ((word & 3) == 0) block = Philox4x32.StreamBlock(key, word >> 2);
                uint u = (word & 3) switch { 0 => block.X0, 1 => block.X1, 2 => block.X2, _ => block.X3 };
                if (u < threshold || q == 1) order.Add(i);
            }
        }
        starts[steps] = order.Count;
        return new EpochSampler(order.ToArray(), starts, expectedBatch);
    }

    /// <summary>The batch size steps are scaled by: the fixed batch, or the expected batch under Poisson sampling.</summary>
    public int GlobalBatch { get; }
    public int StepCount { get; }

    /// <summary>The whole global batch of step <paramref name="step"/>.</summary>
    public ReadOnlySpan<int> Batch(int step) => _starts is { } starts
        ? _order.AsSpan(starts[step], starts[step + 1] - starts[step])
        : _order.AsSpan(step * GlobalBatch, GlobalBatch);

    /// <summary>Worker <paramref name="worker"/>'s slice of step <paramref name="step"/>'s global batch.</summary>
    public ReadOnlySpan<int> Shard(int step, int worker, int workers)
    {
        var batch = Batch(step);
        var (start, length) = ShardRange(batch.Length, worker, workers);
        return batch.Slice(start, length);
    }

    public static (int Start, int Length) ShardRange(int total, int part, int parts)
    {
        int start = (int)((long)total * part / parts);
        int end = (int)((long)total * (part + 1) / parts);
        return (start, end - start);
    }
}
