using AllReduceNet.Kernels;
using AllReduceNet.Training.Ledger;

namespace AllReduceNet.Training.Tests.Ledger;

/// <summary>The noisers' noise: secret seeds from the OS generator, expanded deterministically through HKDF and Philox.</summary>
public sealed class LedgerNoiseTests
{
    [Fact]
    public void Seeds_are_fresh_256_bit_values()
    {
        var seeds = Enumerable.Range(0, 64).Select(_ => LedgerNoise.NewSeed()).ToArray();
        Assert.All(seeds, s => Assert.Equal(LedgerNoise.SeedBytes, s.Length));
        Assert.Equal(seeds.Length, seeds.Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public void The_same_seed_and_context_give_the_same_noise_and_any_other_context_another()
    {
        var seed = LedgerNoise.NewSeed();
        var key = LedgerNoise.StreamKey(seed, 7, 2, 5);
        Assert.Equal(key, LedgerNoise.StreamKey(seed, 7, 2, 5));
        var first = Noise(key, 1001, 0.5);
        Assert.Equal(first, Noise(key, 1001, 0.5));
        var others = new[]
        {
            LedgerNoise.StreamKey(seed, 8, 2, 5),
            LedgerNoise.StreamKey(seed, 7, 3, 5),
            LedgerNoise.StreamKey(seed, 7, 2, 6),
        };
        foreach (var other in others)
        {
            Assert.NotEqual(key, other);
            Assert.NotEqual(first, Noise(other, 1001, 0.5));
        }
    }

    [Fact]
    public void Every_byte_of_the_seed_selects_the_stream()
    {
        // The old expansion kept 32 bits of a hash of the seed; here changing any one byte changes the key.
        var seed = LedgerNoise.NewSeed();
        var key = LedgerNoise.StreamKey(seed, 1, 0, 1);
        for (int i = 0; i < seed.Length; i++)
        {
            var changed = (byte[])seed.Clone();
            changed[i] ^= 1;
            Assert.NotEqual(key, LedgerNoise.StreamKey(changed, 1, 0, 1));
        }
    }

    [Fact]
    public void The_expansion_is_the_kernels_Philox_Gaussian_stream_of_the_derived_key()
    {
        var key = LedgerNoise.StreamKey(LedgerNoise.NewSeed(), 3, 1, 4);
        const int n = 1027; // not a multiple of 4: the ragged last block
        var expected = new float[n];
        using (var backend = KernelBackends.Create("cpu", 1))
        using (var buffer = backend.Allocate<float>(n))
        {
            buffer.CopyFrom(expected);
            backend.AddGaussianNoise(buffer, 0.25f, key);
            buffer.CopyTo(expected);
        }
        var actual = Noise(key, n, 0.25);
        for (int i = 0; i < n; i++) Assert.Equal(expected[i], actual[i], 1e-6f);
    }

    [Fact]
    public void The_noise_has_mean_zero_and_the_requested_deviation()
    {
        const double std = 0.3;
        var values = Noise(LedgerNoise.StreamKey(LedgerNoise.NewSeed(), 1, 0, 0), 200_000, std);
        double mean = values.Average(v => (double)v);
        double deviation = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
        // Standard error of the mean: 0.3 / sqrt(2e5) ≈ 6.7e-4; of the deviation ≈ 4.7e-4.
        Assert.InRange(mean, -0.004, 0.004);
        Assert.InRange(deviation, std * 0.99, std * 1.01);
    }

    [Fact]
    public void A_seed_of_the_wrong_length_is_refused_naming_the_noiser_and_round()
    {
        var e = Assert.Throws<ArgumentException>(() => LedgerNoise.StreamKey(new byte[4], 9, 6, 1));
        Assert.Contains("noiser 6 for round 9 has 4 bytes, expected 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_noised_ledger_run_ends_with_every_peer_on_the_same_chain()
    {
        using var dir = new TempDirectory();
        var results = LedgerRun.Run($"--ranks 5 --rounds 2 --ledger-noise 0.01 --ledger-noisers 2 --ledger-timeout 30 --ledger-dir {dir.Path}");
        Assert.Single(results.Select(r => r.HeadHash).Distinct());
        Assert.All(results, r => Assert.Empty(r.Refusals));
        Assert.All(results[0].Rounds, o => Assert.Equal(2, o.Block.Roles.Noisers.Length));
        Assert.All(results[0].Rounds, o => Assert.NotEmpty(o.Block.Contributors));
        LedgerRun.AssertSameFiles(dir.Path, 5);
    }

    private static float[] Noise(Seed128 key, int n, double std)
    {
        var values = new float[n];
        LedgerNoise.Add(values, key, std);
        return values;
    }
}
