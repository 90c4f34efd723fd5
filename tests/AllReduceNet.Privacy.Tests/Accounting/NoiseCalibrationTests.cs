using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

public class NoiseCalibrationTests
{
    // Opacus opacus/tests/accountants_test.py: test_get_noise_multiplier_rdp_epochs (epsilon 8, delta 1e-5, q 0.04,
    // 90 epochs -> 1.416 to 4 places) and test_get_noise_multiplier_rdp_steps (2000 steps -> 1.3562 to 4 places).
    [Theory]
    [InlineData(2250L, 1.416)]
    [InlineData(2000L, 1.3562)]
    public void MatchesOpacusGetNoiseMultiplier(long steps, double expected)
    {
        Assert.Equal(expected, NoiseCalibration.NoiseMultiplierFor(8, 1e-5, 0.04, steps), 5e-5);
    }

    [Theory]
    [InlineData(1.0, 0.01, 1000L, 1e-5)]
    [InlineData(3.0, 256 / 60000.0, 14062L, 1e-5)]
    [InlineData(0.5, 1.0, 10L, 1e-6)]
    public void ReachesTheTargetWithoutOvershootingIt(double target, double q, long steps, double delta)
    {
        double sigma = NoiseCalibration.NoiseMultiplierFor(target, delta, q, steps);
        var accountant = new RdpAccountant();
        accountant.Compose(q, sigma, steps);
        double epsilon = accountant.GetEpsilon(delta).Epsilon;
        Assert.True(epsilon <= target && epsilon >= target - 0.01, $"sigma {sigma} gives epsilon {epsilon} for target {target}");
    }

    [Fact]
    public void RefusesAnUnreachableTargetSayingWhy()
    {
        var error = Assert.Throws<PrivacyException>(() => NoiseCalibration.NoiseMultiplierFor(1e-9, 1e-10, 1, 1000));
        Assert.Contains("unreachable", error.Message);
    }

    [Theory]
    [InlineData(0.0, 1e-5, 0.01)]
    [InlineData(-1.0, 1e-5, 0.01)]
    [InlineData(double.NaN, 1e-5, 0.01)]
    [InlineData(1.0, 0.0, 0.01)]
    [InlineData(1.0, 1e-5, 0.0)]
    public void RefusesBadTargets(double epsilon, double delta, double q)
    {
        Assert.Throws<PrivacyException>(() => NoiseCalibration.NoiseMultiplierFor(epsilon, delta, q, 100));
    }
}
