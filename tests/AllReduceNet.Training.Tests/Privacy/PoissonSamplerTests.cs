using AllReduceNet.Kernels;
using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Tests.Privacy;

/// <summary>Poisson sampling: N / B steps, each sample in a step with probability B / N, the ranks' shards a partition.</summary>
public class PoissonSamplerTests
{
    [Fact]
    public void Batches_have_the_expected_size_and_the_shards_partition_them()
    {
        const int n = 6000, batch = 300, workers = 7;
        var sampler = EpochSampler.Poisson(n, batch, new Seed128(1, 2, 3, 4), epoch: 0);
        Assert.Equal(n / batch, sampler.StepCount);
        Assert.Equal(batch, sampler.GlobalBatch);
        long total = 0;
        var counts = new int[n];
        for (int step = 0; step < sampler.StepCount; step++)
        {
            var whole = sampler.Batch(step).ToArray();
            Assert.Equal(whole.Length, whole.Distinct().Count());
            var joined = Enumerable.Range(0, workers).SelectMany(w => sampler.Shard(step, w, workers).ToArray()).ToArray();
            Assert.Equal(whole, joined);
            total += whole.Length;
            foreach (int i in whole) counts[i]++;
        }
        // 20 steps of Binomial(6000, 0.05): mean 6000, std sqrt(20 * 285) = 75.5; allow 5 std.
        Assert.InRange(total, 6000 - 378, 6000 + 378);
        Assert.True(counts.Max() < 8, "a sample was drawn far more often than q allows");
        // Another epoch and another secret draw other batches.
        Assert.NotEqual(sampler.Batch(0).ToArray(), EpochSampler.Poisson(n, batch, new Seed128(1, 2, 3, 4), 1).Batch(0).ToArray());
        Assert.NotEqual(sampler.Batch(0).ToArray(), EpochSampler.Poisson(n, batch, new Seed128(9, 2, 3, 4), 0).Batch(0).ToArray());
    }
}
