using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

public class AnalyticGaussianTests
{
    [Fact]
    public void DeltaMatchesTheFormulaWithTabulatedNormalValues()
    {
        // mu = 1, eps = 1: Phi(-0.5) - e Phi(-1.5) with Phi(-0.5) = 0.3085375387, Phi(-1.5) = 0.0668072013 (tables).
        double expected = 0.3085375387 - Math.E * 0.0668072013;
        Assert.Equal(expected, AnalyticGaussian.Delta(1, 1, 1), 1e-9);
        // Composition: T steps at sigma equal one step at sigma / sqrt(T).
        Assert.Equal(AnalyticGaussian.Delta(1, 1, 1), AnalyticGaussian.Delta(1, 10, 100), 1e-15);
    }

    [Theory]
    [InlineData(1.0, 1L, 1e-5)]
    [InlineData(4.530877117, 1L, 1e-6)]
    [InlineData(50.0, 1000L, 1e-5)]
    [InlineData(2.0, 10L, 1e-6)]
    public void EpsilonInvertsDeltaAndNeverExceedsTheRdpBound(double sigma, long steps, double delta)
    {
        double exact = AnalyticGaussian.Epsilon(delta, sigma, steps);
        Assert.Equal(delta, AnalyticGaussian.Delta(exact, sigma, steps), delta * 1e-6);
        var accountant = new RdpAccountant();
        accountant.Compose(1, sigma, steps);
        double rdp = accountant.GetEpsilon(delta).Epsilon;
        // RDP is an upper bound, and for the plain Gaussian not a loose one (measured 6.5% to 9.4% above).
        Assert.True(exact < rdp && rdp < 1.12 * exact, $"exact {exact}, RDP {rdp}");
    }

    [Fact]
    public void NoNoiseIsNoPrivacyAndNoStepsIsNoLoss()
    {
        Assert.Equal(double.PositiveInfinity, AnalyticGaussian.Epsilon(1e-5, 0, 10));
        Assert.Equal(0, AnalyticGaussian.Epsilon(1e-5, 1, 0));
        Assert.Throws<PrivacyException>(() => AnalyticGaussian.Epsilon(1e-5, double.NaN, 1));
    }
}
