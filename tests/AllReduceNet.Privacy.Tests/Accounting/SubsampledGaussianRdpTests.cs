using AllReduceNet.Privacy.Accounting;

namespace AllReduceNet.Privacy.Tests.Accounting;

public class SubsampledGaussianRdpTests
{
    [Fact]
    public void DefaultOrdersAreOpacusOrders()
    {
        var orders = SubsampledGaussianRdp.DefaultOrders;
        Assert.Equal(99 + 52, orders.Count);
        Assert.Equal(1.1, orders[0], 1e-15);
        Assert.Equal(10.9, orders[98], 1e-15);
        Assert.Equal(12, orders[99]);
        Assert.Equal(63, orders[^1]);
        Assert.Equal(2.0, orders[9]); // integer orders among the fine ones are exact, so they take the binomial sum
    }

    // q = 0.01, sigma = 2.5, 50 steps. Orders 2.5, 5 and 50: TF Privacy rdp_accountant_test.py
    // (test_compute_rdp_sequence) and Google dp_accounting rdp_privacy_accountant_test.py
    // (test_compute_rdp_poisson_sampled_gaussian) agree. Order 1.5: TF Privacy's 6.5007e-04 (newer dp_accounting
    // lists 6.7058e-04; numerical integration of A_alpha, below, gives 6.5007e-04). Order 100: dp_accounting's
    // 1.67416308e+02 (TF Privacy's older 1.6999e+02 came from a less precise sum; the integral gives 167.416).
    [Theory]
    [InlineData(1.5, 6.5007e-04)]
    [InlineData(2.5, 1.0854e-03)]
    [InlineData(5, 2.1808e-03)]
    [InlineData(50, 2.3846e-02)]
    [InlineData(100, 1.67416308e+02)]
    public void MatchesPublishedRdpOfTheSampledGaussian(double order, double expected)
    {
        double rdp = 50 * SubsampledGaussianRdp.ComputeAtOrder(0.01, 2.5, order);
        Assert.Equal(expected, rdp, expected * 1e-4);
    }

    [Fact]
    public void WithoutSamplingIsTheGaussianMechanism()
    {
        // dp_accounting test_compute_rdp_gaussian: alpha / (2 sigma²); TF Privacy test_compute_rdp_no_sampling: 0.1.
        Assert.Equal(3.14159 / (2 * 2.71828 * 2.71828), SubsampledGaussianRdp.ComputeAtOrder(1, 2.71828, 3.14159), 1e-15);
        Assert.Equal(0.1, SubsampledGaussianRdp.ComputeAtOrder(1, 10, 20), 1e-15);
        Assert.Equal(double.PositiveInfinity, SubsampledGaussianRdp.ComputeAtOrder(0.5, 0, 2));
    }

    // An independent check, as dp_accounting's test_compute_log_a_equals_mp does with mpmath: A_alpha as the integral
    // of N(0, sigma²)(z) · ((1-q) + q e^{(2z-1)/(2sigma²)})^alpha, by the trapezoid rule in log space.
    [Theory]
    [InlineData(1e-4, 1.0, 1.5)]
    [InlineData(1e-3, 1.0, 2)]
    [InlineData(0.01, 2.5, 1.5)]
    [InlineData(0.01, 10, 20)]
    [InlineData(0.1, 100, 20.5)]
    [InlineData(0.04, 1.5, 3.9)]
    [InlineData(0.5, 1.0, 3.7)]
    [InlineData(0.5, 0.5, 1.1)]
    [InlineData(0.99, 0.1, 25.3)]
    // dp_accounting's extreme cases (test_compute_log_a_equals_mp) where a double-precision integral is still exact.
    [InlineData(1e-6, 0.1, 256)]
    [InlineData(1e-5, 0.1, 256.1)]
    [InlineData(0.99, 0.1, 256)]
    [InlineData(0.999, 100, 256.1)]
    [InlineData(0.3, 0.3, 1.05)]
    public void LogAMatchesNumericalIntegrationOfTheMixture(double q, double sigma, double order)
    {
        double series = SubsampledGaussianRdp.LogA(q, sigma, order);
        double integral = LogAByIntegration(q, sigma, order);
        Assert.Equal(integral, series, Math.Abs(integral) * 1e-6 + 1e-12);
    }

    [Fact]
    public void TinyLogAIsExactWhereTheIntegralWouldNotBe()
    {
        // dp_accounting's case q = 1e-6, sigma = 1, order 27: A - 1 is about 1e-9, below what a double-precision
        // integral resolves. Reference: the binomial sum in Python's decimal at 60 digits, 8.76951130484850e-10.
        Assert.Equal(8.76951130484850e-10, SubsampledGaussianRdp.LogA(1e-6, 1, 27), 8.8e-10 * 1e-6);
    }

    [Fact]
    public void GrowsWithQAndShrinksWithSigma()
    {
        foreach (double order in new[] { 1.1, 1.5, 2, 3.7, 8, 32, 63 })
        {
            double previous = 0;
            foreach (double q in new[] { 1e-4, 1e-3, 0.01, 0.05, 0.2, 0.6, 1 })
            {
                double rdp = SubsampledGaussianRdp.ComputeAtOrder(q, 1.1, order);
                Assert.True(rdp > previous, $"order {order}: rdp {rdp} at q={q} not above {previous}");
                previous = rdp;
            }
            previous = double.PositiveInfinity;
            foreach (double sigma in new[] { 0.5, 0.8, 1, 1.5, 3, 10 })
            {
                double rdp = SubsampledGaussianRdp.ComputeAtOrder(0.01, sigma, order);
                Assert.True(rdp < previous, $"order {order}: rdp {rdp} at sigma={sigma} not below {previous}");
                previous = rdp;
            }
        }
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(-0.1, 1.0)]
    [InlineData(1.5, 1.0)]
    [InlineData(double.NaN, 1.0)]
    [InlineData(0.1, -1.0)]
    [InlineData(0.1, double.NaN)]
    public void RefusesBadParametersNamingThem(double q, double sigma)
    {
        var error = Assert.Throws<PrivacyException>(() => SubsampledGaussianRdp.Compute(q, sigma, SubsampledGaussianRdp.DefaultOrders));
        Assert.Contains(q is > 0 and <= 1 ? "sigma" : "sampling rate q", error.Message);
    }

    private static double LogAByIntegration(double q, double sigma, double alpha)
    {
        double low = -40 * sigma - 1, high = alpha + 40 * sigma + 1;
        const int Intervals = 400_000;
        double h = (high - low) / Intervals, logOneMinusQ = Math.Log(1 - q), logQ = Math.Log(q);
        var logValues = new double[Intervals + 1];
        double max = double.NegativeInfinity;
        for (int i = 0; i <= Intervals; i++)
        {
            double z = low + i * h;
            double logDensity = -z * z / (2 * sigma * sigma) - Math.Log(sigma * Math.Sqrt(2 * Math.PI));
            double x = (2 * z - 1) / (2 * sigma * sigma);
            // log((1-q) + q e^x), written so neither term overflows.
            double logRatio = q == 1 ? x
                : x < logOneMinusQ - logQ ? logOneMinusQ + Math.Log(1 + Math.Exp(logQ - logOneMinusQ + x))
                : logQ + x + Math.Log(1 + Math.Exp(logOneMinusQ - logQ - x));
            logValues[i] = logDensity + alpha * logRatio;
            max = Math.Max(max, logValues[i]);
        }
        double sum = 0;
        for (int i = 0; i <= Intervals; i++) sum += (i == 0 || i == Intervals ? 0.5 : 1) * Math.Exp(logValues[i] - max);
        return max + Math.Log(sum * h);
    }
}
