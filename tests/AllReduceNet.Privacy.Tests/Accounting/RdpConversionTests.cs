using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

public class RdpConversionTests
{
    [Fact]
    public void PureDpCurveGivesThePublishedEpsilon()
    {
        // dp_accounting rdp_privacy_accountant_test.py test_compute_epsilon_delta_pure_dp: orders 2..32, RDP 1.1,
        // delta 1e-5 -> epsilon 1.32783806176 at order 32, and back.
        double[] orders = Enumerable.Range(2, 31).Select(x => (double)x).ToArray();
        double[] rdp = orders.Select(_ => 1.1).ToArray();
        var guarantee = RdpConversion.Epsilon(orders, rdp, 1e-5);
        Assert.Equal(1.32783806176, guarantee.Epsilon, 1e-10);
        Assert.Equal(32, guarantee.Order);
        // The published epsilon has 12 digits, so delta comes back to 1e-9 relative.
        Assert.Equal(1e-5, RdpConversion.Delta(orders, rdp, 1.32783806176).Delta, 1e-14);
    }

    [Fact]
    public void GaussianCalibratedToOneAtOneInAMillion()
    {
        // dp_accounting test_compute_epsilon_delta_gaussian: sigma 4.530877117 gives exactly (1, 1e-6)-DP over
        // orders 1.000 .. 99.999 in steps of 0.001.
        double[] orders = Enumerable.Range(1001, 98999).Select(i => 0.001 * i).ToArray();
        var accountant = new RdpAccountant(orders);
        accountant.Compose(1, 4.530877117);
        Assert.Equal(1, accountant.GetEpsilon(1e-6).Epsilon, 1e-7);
        Assert.Equal(1e-6, accountant.GetDelta(1).Delta, 1e-12);
    }

    [Fact]
    public void RdpDeltaBoundsTheExactGaussianDeltaFromAbove()
    {
        // dp_accounting test_delta_bounds_gaussian: for sigma = 1, the exact delta(eps) of the Gaussian mechanism
        // (Balle & Wang 2018, Theorem 8) is Phi(1/2 - eps) - e^eps Phi(-1/2 - eps); the RDP bound must be above it
        // and below the classic exp(-(eps - 1/2)²/2).
        double[] orders = Enumerable.Range(10, 495).Select(x => 0.1 * x).Where(o => o > 1).ToArray();
        var accountant = new RdpAccountant(orders);
        accountant.Compose(1, 1);
        for (int k = 0; k < 100; k++)
        {
            double epsilon = 0.1 * k;
            double delta = accountant.GetDelta(epsilon).Delta;
            double exact = LogMath.NormalCdf(0.5 - epsilon) - Math.Exp(epsilon) * LogMath.NormalCdf(-0.5 - epsilon);
            Assert.True(exact <= delta + 1e-300, $"eps {epsilon}: RDP delta {delta} below the exact {exact}");
            if (epsilon >= 0.5) Assert.True(delta <= Math.Exp(-0.5 * (epsilon - 0.5) * (epsilon - 0.5)) + 1e-300);
        }
    }

    [Fact]
    public void EpsilonAndDeltaAreInverse()
    {
        foreach (double q in new[] { 0.01, 0.1, 0.8, 1 })
        foreach (double sigma in new[] { 0.7, 1, 10 })
        {
            var accountant = new RdpAccountant();
            accountant.Compose(q, sigma, 100);
            foreach (double delta in new[] { 0.1, 1e-3, 1e-5, 1e-9 })
            {
                var guarantee = accountant.GetEpsilon(delta);
                if (guarantee.Epsilon == 0) continue;
                Assert.Equal(delta, accountant.GetDelta(guarantee.Epsilon).Delta, delta * 1e-9);
            }
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-1e-5)]
    [InlineData(double.NaN)]
    public void RefusesDeltaOutsideTheOpenUnitInterval(double delta)
    {
        var error = Assert.Throws<PrivacyException>(() => RdpConversion.Epsilon(new[] { 2.0 }, new[] { 0.5 }, delta));
        Assert.Contains("delta must be in (0, 1)", error.Message);
    }
}
