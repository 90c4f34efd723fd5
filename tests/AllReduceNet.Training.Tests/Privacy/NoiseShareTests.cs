using AllReduceNet.Kernels;
using AllReduceNet.Training.Privacy;

namespace AllReduceNet.Training.Tests.Privacy;

/// <summary>The ranks' noise shares add up to N(0, σ²C²) on the global sum, whatever the rank count.</summary>
public class NoiseShareTests
{
    private const int Elements = 60_000;

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(8, false)]
    [InlineData(1, true)]
    [InlineData(4, true)]
    [InlineData(8, true)]
    public void The_std_of_the_summed_shares_is_sigma_times_clip(int ranks, bool secure)
    {
        const double sigmaC = 1.3 * 0.7;
        using var backend = KernelBackends.Create("cpu", 1);
        var total = new double[Elements];
        var shares = new double[ranks];
        var host = new float[Elements];
        for (int r = 0; r < ranks; r++)
        {
            using var buffer = backend.Allocate<float>(Elements);
            new NoiseShare(sigmaC, ranks, secure).Add(backend, [buffer], step: 17);
            buffer.CopyTo(host);
            double squares = 0;
            for (int k = 0; k < Elements; k++) { total[k] += host[k]; squares += (double)host[k] * host[k]; }
            shares[r] = Math.Sqrt(squares / Elements);
        }
        double mean = total.Average();
        double std = Math.Sqrt(total.Sum(x => (x - mean) * (x - mean)) / (Elements - 1));
        // The sample std of n normals has relative standard error 1/sqrt(2n) (0.29% here); allow 5 of them.
        double bound = 5 / Math.Sqrt(2.0 * Elements);
        Assert.True(Math.Abs(std / sigmaC - 1) < bound, $"{ranks} ranks: std of the sum {std:F5}, expected {sigmaC} within {100 * bound:F2}%");
        Assert.True(Math.Abs(mean) < 5 * sigmaC / Math.Sqrt(Elements), $"{ranks} ranks: mean of the sum {mean:E3}");
        foreach (double share in shares)
            Assert.True(Math.Abs(share / (sigmaC / Math.Sqrt(ranks)) - 1) < bound, $"{ranks} ranks: a share's std {share:F5}, expected {sigmaC / Math.Sqrt(ranks):F5}");
    }

    [Fact]
    public void Two_steps_and_two_ranks_draw_different_noise()
    {
        using var backend = KernelBackends.Create("cpu", 1);
        using var a = backend.Allocate<float>(64);
        using var b = backend.Allocate<float>(64);
        using var c = backend.Allocate<float>(64);
        var rank0 = new NoiseShare(1, 2, secureRandom: false);
        rank0.Add(backend, [a], step: 0);
        rank0.Add(backend, [b], step: 1);
        new NoiseShare(1, 2, secureRandom: false).Add(backend, [c], step: 0);
        Assert.NotEqual(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
    }
}
