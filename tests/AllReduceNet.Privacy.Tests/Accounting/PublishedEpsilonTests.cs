using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

/// <summary>The accountant against epsilons published by Opacus, TF Privacy and Abadi et al.</summary>
public class PublishedEpsilonTests
{
    private static readonly double[] TfPrivacyOrders =
        Enumerable.Range(1, 99).Select(x => 1 + x / 10.0).Concat(Enumerable.Range(12, 52).Select(x => (double)x)).ToArray();

    [Fact]
    public void MatchesOpacusRdpAccountant()
    {
        // Opacus opacus/tests/accountants_test.py test_rdp_accountant: sigma 1.5, q 0.04, int(90 / 0.04) steps,
        // delta 1e-5 -> 7.32911117143 (improved conversion, default orders).
        var accountant = new RdpAccountant();
        accountant.Compose(0.04, 1.5, (long)(90 / 0.04));
        Assert.Equal(7.32911117143, accountant.GetEpsilon(1e-5).Epsilon, 1e-9);
    }

    // TF Privacy tutorials/README.md, "Select Parameters" table for mnist_dpsgd_tutorial.py: 60,000 examples,
    // batch 256, epsilon at delta 1e-5, computed then with the classic conversion over orders 1.1..10.9, 12..63.
    [Theory]
    [InlineData(1.12, 60, 2.92)]
    [InlineData(0.6, 30, 9.74)]
    [InlineData(1.2, 10, 1.20)]
    public void MatchesTfPrivacyMnistTutorialTable(double sigma, int epochs, double published)
    {
        var accountant = new RdpAccountant(TfPrivacyOrders);
        accountant.Compose(256 / 60000.0, sigma, epochs * 60000L / 256);
        double epsilon = RdpConversion.EpsilonClassic(accountant.Orders, accountant.Rdp, 1e-5).Epsilon;
        AssertSameTwoSignificantDigits(published, epsilon);
        // The improved conversion may only tighten it.
        Assert.True(accountant.GetEpsilon(1e-5).Epsilon < epsilon);
    }

    [Fact]
    public void MatchesAbadiEtAlMomentsAccountantExample()
    {
        // Abadi et al. 2016, "Deep Learning with Differential Privacy", section 3.1: q = 0.01, sigma = 4,
        // delta = 1e-5, T = 10000 steps -> epsilon ~ 1.26 by the moments accountant (integer moments).
        var accountant = new RdpAccountant(Enumerable.Range(2, 63).Select(x => (double)x).ToArray());
        accountant.Compose(0.01, 4, 10000);
        AssertSameTwoSignificantDigits(1.26, RdpConversion.EpsilonClassic(accountant.Orders, accountant.Rdp, 1e-5).Epsilon);
    }

    [Fact]
    public void EpsilonGrowsWithStepsAndQAndFallsWithSigma()
    {
        double previous = 0;
        foreach (long steps in new long[] { 1, 10, 100, 1000, 10000 })
        {
            var accountant = new RdpAccountant();
            accountant.Compose(0.01, 1.1, steps);
            double epsilon = accountant.GetEpsilon(1e-5).Epsilon;
            Assert.True(epsilon > previous, $"epsilon {epsilon} after {steps} steps not above {previous}");
            previous = epsilon;
        }
        previous = 0;
        foreach (double q in new[] { 1e-3, 4e-3, 0.01, 0.05, 0.2, 1 })
        {
            var accountant = new RdpAccountant();
            accountant.Compose(q, 1.1, 1000);
            double epsilon = accountant.GetEpsilon(1e-5).Epsilon;
            Assert.True(epsilon > previous, $"epsilon {epsilon} at q={q} not above {previous}");
            previous = epsilon;
        }
        previous = double.PositiveInfinity;
        foreach (double sigma in new[] { 0.6, 0.8, 1.1, 2, 4, 10 })
        {
            var accountant = new RdpAccountant();
            accountant.Compose(0.01, sigma, 1000);
            double epsilon = accountant.GetEpsilon(1e-5).Epsilon;
            Assert.True(epsilon < previous, $"epsilon {epsilon} at sigma={sigma} not below {previous}");
            previous = epsilon;
        }
    }

    private static void AssertSameTwoSignificantDigits(double published, double computed)
    {
        // Agreement to two significant digits: within half a unit of the second digit (9.74 vs 9.75 agrees, though
        // they round to 9.7 and 9.8).
        double unit = Math.Pow(10, Math.Floor(Math.Log10(Math.Abs(published))) - 1);
        Assert.True(Math.Abs(published - computed) < unit / 2,
            $"published {published}, computed {computed}: they differ by more than half a unit of the second significant digit");
    }
}
