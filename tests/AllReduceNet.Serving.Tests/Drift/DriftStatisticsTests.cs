using AllReduceNet.Serving.Drift;
using AllReduceNet.Training.Reference;

namespace AllReduceNet.Serving.Tests.Drift;

/// <summary>Each drift statistic against values computed by hand or known from scipy.stats.</summary>
public class DriftStatisticsTests
{
    [Fact]
    public void Ks_statistic_is_the_largest_gap_between_the_distribution_functions()
    {
        // scipy.stats.ks_2samp([1,2,3,4,5], [3,4,5,6,7,8]).statistic == 0.5 (at x = 5: 1.0 against 0.5).
        Assert.Equal(0.5, KolmogorovSmirnov.Statistic(new double[] { 1, 2, 3, 4, 5 }, new double[] { 3, 4, 5, 6, 7, 8 }), 12);
        Assert.Equal(0, KolmogorovSmirnov.Statistic(new double[] { 1, 2, 2, 3 }, new double[] { 3, 2, 1, 2 }), 12);
        Assert.Equal(1, KolmogorovSmirnov.Statistic(new double[] { 0, 1 }, new double[] { 2, 3 }), 12);
        // Binned: cells hold 0/1/2/3 of each sample; the binned D equals the exact D when no cell splits a gap.
        Assert.Equal(0.5, KolmogorovSmirnov.Statistic(new long[] { 0, 1, 1, 1, 1, 1, 0, 0, 0 }, new long[] { 0, 0, 0, 1, 1, 1, 1, 1, 1 }), 12);
    }

    [Theory]
    // scipy.stats.kstwobign.sf (= 2 Σ (-1)^(k-1) exp(-2 k² λ²)): 0.9639452436648751 at 0.5, 0.2699996716773545 at 1.0.
    [InlineData(0.5, 0.9639452436648751)]
    [InlineData(1.0, 0.2699996716773545)]
    [InlineData(1.18, 0.1234538094297657)]
    [InlineData(1.9495, 0.0009998019790258981)]
    public void Kolmogorov_distribution_matches_known_values(double lambda, double survival)
    {
        Assert.Equal(survival, KolmogorovSmirnov.KolmogorovSurvival(lambda), 9);
        // Both series agree where they meet.
        Assert.Equal(KolmogorovSmirnov.KolmogorovSurvival(1.1799999999), KolmogorovSmirnov.KolmogorovSurvival(1.18), 9);
    }

    [Fact]
    public void Ks_p_value_uses_the_effective_sample_size_with_stephens_correction()
    {
        // n = m = 200: sqrt(100) = 10, so λ = (10 + 0.12 + 0.011) D; D = 0.1 gives λ = 1.0131.
        Assert.Equal(KolmogorovSmirnov.KolmogorovSurvival(1.0131), KolmogorovSmirnov.PValue(0.1, 200, 200), 12);
        Assert.Equal(1, KolmogorovSmirnov.PValue(0, 500, 60000));
    }

    [Fact]
    public void Wasserstein_distance_matches_scipy()
    {
        // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0; [0,0,1] against [0,1,1]: 1/3 over [0, 1].
        Assert.Equal(5.0, Wasserstein.Distance([0, 1, 3], [5, 6, 8]), 12);
        Assert.Equal(1.0 / 3, Wasserstein.Distance([0, 0, 1], [0, 1, 1]), 12);
        Assert.Equal(0, Wasserstein.Distance([2, 1], [1, 2]), 12);
        Assert.Equal(0.5, Wasserstein.Normalized(0.5, 1));
        Assert.Equal(1000, Wasserstein.Normalized(1, 0), 9);
    }

    [Fact]
    public void Binned_wasserstein_is_within_a_bin_width_of_the_exact_distance_and_counts_outside_values_at_their_distance()
    {
        var random = new Random(7);
        var reference = Enumerable.Range(0, 4000).Select(_ => (float)random.NextDouble()).ToArray();
        var current = Enumerable.Range(0, 500).Select(_ => (float)(random.NextDouble() * 0.8 + 0.3)).ToArray(); // 0.3..1.1: some above the range
        var histogram = FeatureHistogram.Build(reference, 0, 1, 32);
        var cells = new long[34];
        double below = 0, above = 0;
        foreach (float v in current)
        {
            int cell = histogram.Cell(v);
            cells[cell]++;
            if (cell == 33) above += v - histogram.High;
            if (cell == 0) below += histogram.Low - v;
        }
        double exact = Wasserstein.Distance(reference.Select(v => (double)v).ToArray(), current.Select(v => (double)v).ToArray());
        double binned = Wasserstein.Distance(histogram, cells, below, above);
        Assert.InRange(binned, exact - histogram.BinWidth, exact + histogram.BinWidth);
        Assert.True(above > 0);
    }

    [Fact]
    public void Psi_matches_the_hand_computed_value_and_treats_empty_cells_as_one_in_ten_thousand()
    {
        // (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5 = 0.274653...
        Assert.Equal(0.25 * Math.Log(2) + 0.25 * Math.Log(1.5), PopulationStabilityIndex.Compute([2, 2], [1, 3]), 12);
        Assert.Equal(0, PopulationStabilityIndex.Compute([5, 5], [1, 1]), 12);
        // An empty reference cell: (0.5 - 0.0001) ln(0.5 / 0.0001) + (0.5 - 1) ln(0.5 / 1).
        Assert.Equal((0.5 - 0.0001) * Math.Log(0.5 / 0.0001) + (0.5 - 1) * Math.Log(0.5), PopulationStabilityIndex.Compute([0, 4], [2, 2]), 12);
    }

    [Theory]
    // Even degrees of freedom have a closed form: Q(k/2, x/2) = exp(-x/2) Σ_{j<k/2} (x/2)^j / j!.
    [InlineData(4.0, 2, 0.1353352832366127)]          // exp(-2)
    [InlineData(10.0, 4, 0.040427681994512805)]       // 6 exp(-5)
    [InlineData(3.841458820694124, 1, 0.05)]          // scipy.stats.chi2.ppf(0.95, 1)
    [InlineData(16.918977604620448, 9, 0.05)]         // scipy.stats.chi2.ppf(0.95, 9)
    [InlineData(0.5, 9, 0.9999695662588389)]   // 1 - P(4.5, 0.25) by its defining series
    public void Chi_square_p_values_match_known_values(double statistic, int df, double p) =>
        Assert.Equal(p, ChiSquare.PValue(statistic, df), 8);

    [Fact]
    public void Chi_square_statistic_is_pearsons()
    {
        // Observed 30, 10 against halves: (30-20)²/20 + (10-20)²/20 = 10, one degree of freedom.
        var (statistic, df) = ChiSquare.Statistic([30, 10], [0.5, 0.5]);
        Assert.Equal(10, statistic, 12);
        Assert.Equal(1, df);
    }

    [Fact]
    public void Mmd_matches_the_hand_computed_unbiased_estimate()
    {
        // X = Y = {0, 1}, σ = 1: k(0,1) = exp(-1/2). MMD²_u = k + k - 2 (1 + k + k + 1) / 4 = -(1 - k).
        double k = Math.Exp(-0.5);
        Assert.Equal(-(1 - k), MaximumMeanDiscrepancy.Squared([[0f], [1f]], [[0f], [1f]], 1), 12);
        // X = {0, 0}, Y = {1, 1}: 1 + 1 - 2 k.
        Assert.Equal(2 - 2 * k, MaximumMeanDiscrepancy.Squared([[0f], [0f]], [[1f], [1f]], 1), 12);
    }

    [Fact]
    public void Mmd_permutation_test_separates_shifted_samples_and_keeps_equal_ones()
    {
        var random = new Random(3);
        float[][] Sample(int n, double shift) => Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)(Gaussian(random) + shift)).ToArray()).ToArray();
        var reference = Sample(100, 0);
        var (_, shiftedP) = MaximumMeanDiscrepancy.Test(reference, Sample(100, 0.7), 4, 99, seed: 1);
        Assert.Equal(0.01, shiftedP, 12); // no permutation reaches it: 1 / (99 + 1)
        int alarms = 0;
        for (int s = 0; s < 20; s++)
            if (MaximumMeanDiscrepancy.Test(reference, Sample(100, 0), 4, 99, seed: s).PValue < 0.05) alarms++;
        Assert.InRange(alarms, 0, 4);
    }

    internal static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
