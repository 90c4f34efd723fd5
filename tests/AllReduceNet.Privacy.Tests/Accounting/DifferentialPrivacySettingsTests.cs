using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

public class DifferentialPrivacySettingsTests
{
    [Theory]
    [InlineData(-1.0, "--dp-clip")]
    [InlineData(double.NaN, "--dp-clip")]
    [InlineData(0.0, "--dp-clip")]
    public void RefusesABadClip(double clip, string named)
    {
        var error = Assert.Throws<PrivacyException>(() => new DifferentialPrivacySettings(clip, 1.1, null, 1e-5, null).Validate());
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void RefusesAnEpsilonOfZeroAndBadDeltaAndBudget()
    {
        Assert.Contains("--dp-epsilon", Assert.Throws<PrivacyException>(() => new DifferentialPrivacySettings(1, null, 0, 1e-5, null).Validate()).Message);
        Assert.Contains("--dp-delta", Assert.Throws<PrivacyException>(() => new DifferentialPrivacySettings(1, 1.1, null, 1.5, null).Validate()).Message);
        Assert.Contains("--dp-budget", Assert.Throws<PrivacyException>(() => new DifferentialPrivacySettings(1, 1.1, null, 1e-5, -2).Validate()).Message);
        Assert.Contains("--dp-noise", Assert.Throws<PrivacyException>(() => new DifferentialPrivacySettings(1, -0.5, null, 1e-5, null).Validate()).Message);
        Assert.Contains("exactly one", Assert.Throws<PrivacyException>(() => new DifferentialPrivacySettings(1, 1.1, 3, 1e-5, null).Validate()).Message);
    }

    [Fact]
    public void ComputesSigmaForATargetEpsilon()
    {
        var settings = new DifferentialPrivacySettings(1, null, 8, 1e-5, null);
        Assert.Equal(NoiseCalibration.NoiseMultiplierFor(8, 1e-5, 0.04, 2250), settings.ResolveNoiseMultiplier(0.04, 2250));
        Assert.Equal(1.1, new DifferentialPrivacySettings(1, 1.1, null, 1e-5, null).ResolveNoiseMultiplier(0.04, 2250));
    }
}
