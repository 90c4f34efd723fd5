using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>Every robust rule against examples worked out by hand, with ties, even and odd n, and n at the rule's limit and just below it.</summary>
public class RobustRuleTests
{
    private static float[][] Deltas(params float[][] rows) => rows;
    private static double[] Ones(int n) => Enumerable.Repeat(1.0, n).ToArray();

    [Fact]
    public void Mean_is_the_sample_weighted_mean_and_rejects_nothing()
    {
        var outcome = new MeanRule().Aggregate(Deltas([1f, -2f], [4f, 1f]), [1.0, 2.0]);
        Assert.Equal([3f, 0f], outcome.Delta);
        Assert.Empty(outcome.Rejected);
        Assert.Empty(outcome.DownWeighted);
    }

    [Fact]
    public void Median_of_an_odd_n_is_the_middle_value_per_coordinate_and_ignores_weights()
    {
        var deltas = Deltas([1f, 5f], [3f, -1f], [2f, 2f]);
        var outcome = new MedianRule().Aggregate(deltas, Ones(3));
        Assert.Equal([2f, 2f], outcome.Delta);
        // Client 2 is the median in both coordinates; 0 and 1 in neither.
        Assert.Equal([0, 1], outcome.DownWeighted);
        Assert.Equal(outcome.Delta, new MedianRule().Aggregate(deltas, [100.0, 1.0, 7.0]).Delta);
    }

    [Fact]
    public void Median_of_an_even_n_averages_the_two_middle_values_and_ties_are_kept()
    {
        Assert.Equal([2.5f], new MedianRule().Aggregate(Deltas([1f], [2f], [10f], [3f]), Ones(4)).Delta);
        Assert.Equal([2f], new MedianRule().Aggregate(Deltas([2f], [2f], [2f], [7f]), Ones(4)).Delta);
        Assert.Equal([-1.5f], new MedianRule().Aggregate(Deltas([-1f], [-2f]), Ones(2)).Delta);
    }

    [Fact]
    public void Trimmed_mean_drops_floor_beta_n_on_each_side_unweighted()
    {
        var rule = new TrimmedMeanRule(0.2);
        // n = 5: one dropped each side.
        var five = rule.Aggregate(Deltas([1f, 0f], [2f, 0f], [3f, 0f], [4f, 0f], [100f, 0f]), [1, 1, 1, 1, 50]);
        Assert.Equal([3f, 0f], five.Delta);
        // n = 10: two dropped each side. Sorted (ties by id): -50 (9), 1 (3), 2, 3, 4, 5, 6, 9 (0), 9 (1), 9 (2): of
        // the three tied 9s at the cut, the lowest id is kept.
        var ten = rule.Aggregate(Deltas([9f], [9f], [9f], [1f], [2f], [3f], [4f], [5f], [6f], [-50f]), Ones(10));
        Assert.Equal((2f + 3 + 4 + 5 + 6 + 9) / 6, ten.Delta[0], 6);
        Assert.Equal([1, 2, 3, 9], ten.DownWeighted);
    }

    [Fact]
    public void Trimmed_mean_refuses_an_n_that_would_trim_nothing()
    {
        var rule = new TrimmedMeanRule(0.2);
        Assert.Equal(5, rule.MinimumInputs);
        var error = Assert.Throws<ArgumentException>(() => rule.Aggregate(Deltas([1f], [2f], [3f], [4f]), Ones(4)));
        Assert.Contains("trimmed-mean:0.2 needs at least 5 updates", error.Message);
        Assert.Equal(4, new TrimmedMeanRule(0.25).MinimumInputs);
        Assert.Equal(4, new TrimmedMeanRule(0.3).MinimumInputs);
    }

    // One dimension: 0, 1, 2, 3 and an outlier at 100. f = 1, n = 5 = 2f + 3: each score sums the 2 closest squared
    // distances: 0 -> 1 + 4 = 5, 1 -> 1 + 1 = 2, 2 -> 1 + 1 = 2, 3 -> 1 + 4 = 5, 100 -> 97^2 + 98^2.
    private static readonly float[][] Line = Deltas([0f], [1f], [2f], [3f], [100f]);

    [Fact]
    public void Krum_picks_the_lowest_score_and_breaks_a_tie_by_the_lower_id()
    {
        var outcome = new KrumRule(1).Aggregate(Line, [1, 1, 2, 1, 1]);
        Assert.Equal([1f], outcome.Delta);
        Assert.Equal([0, 2, 3, 4], outcome.Rejected);
    }

    [Fact]
    public void Multi_krum_averages_the_M_best_by_sample_count()
    {
        // Best three: 1 and 2 (score 2), then 0 and 3 tie at 5: 0. Weights 1, 1, 2: (0 + 1 + 2 x 2) / 4.
        var outcome = new KrumRule(1, 3).Aggregate(Line, [1, 1, 2, 1, 1]);
        Assert.Equal([1.25f], outcome.Delta);
        Assert.Equal([3, 4], outcome.Rejected);
    }

    [Fact]
    public void Krum_refuses_n_below_2f_plus_3_naming_the_rule_and_the_limit()
    {
        Assert.Equal(5, new KrumRule(1).MinimumInputs);
        Assert.Equal(7, new KrumRule(2, 5).MinimumInputs);
        Assert.Equal(8, new KrumRule(2, 6).MinimumInputs);   // M <= n - f
        var error = Assert.Throws<ArgumentException>(() => new KrumRule(1).Aggregate(Line[..4], Ones(4)));
        Assert.Contains("krum:1 needs at least 5 updates (n >= 2f + 3 = 5 for f = 1)", error.Message);
    }

    [Fact]
    public void Krum_scores_are_squared_euclidean_distances_over_all_coordinates()
    {
        // Two dimensions, f = 0, n = 3, one neighbour: (0,0)-(3,4) = 25, (0,0)-(0,1) = 1, (3,4)-(0,1) = 18.
        var scores = RobustMath.KrumScores(Deltas([0f, 0f], [3f, 4f], [0f, 1f]), [0, 1, 2], 1);
        Assert.Equal([1.0, 18.0, 1.0], scores.Select(s => Math.Round(s, 4)));
    }

    [Fact]
    public void Bulyan_selects_by_repeated_krum_then_averages_the_values_closest_to_the_median()
    {
        // f = 1, n = 7 = 4f + 3: theta = 5 selected (by hand: 2, then 1 (tie with 3), 3, 0 (tie with 4), 4), beta = 3
        // values closest to the median 2 are 1, 2, 3.
        var outcome = new BulyanRule(1).Aggregate(Deltas([0f], [1f], [2f], [3f], [4f], [50f], [-60f]), Ones(7));
        Assert.Equal([2f], outcome.Delta);
        Assert.Equal([5, 6], outcome.Rejected);
        Assert.Equal([0, 4], outcome.DownWeighted);
    }

    [Fact]
    public void Bulyan_refuses_n_below_4f_plus_3()
    {
        var error = Assert.Throws<ArgumentException>(() => new BulyanRule(1).Aggregate(Deltas([0f], [1f], [2f], [3f], [4f], [5f]), Ones(6)));
        Assert.Contains("bulyan:1 needs at least 7 updates (n >= 4f + 3 = 7 for f = 1)", error.Message);
        Assert.Equal(11, new BulyanRule(2).MinimumInputs);
    }

    [Fact]
    public void Norm_bound_clips_each_delta_to_C_then_takes_the_weighted_mean()
    {
        // (0, 2) has norm 2 and becomes (0, 1); (0.5, 0) is inside the bound.
        var outcome = new NormBoundRule(1).Aggregate(Deltas([0f, 2f], [0.5f, 0f]), [1, 3]);
        Assert.Equal(0.375f, outcome.Delta[0], 6);
        Assert.Equal(0.25f, outcome.Delta[1], 6);
        Assert.Equal([0], outcome.DownWeighted);
        Assert.Empty(outcome.Rejected);
    }

    [Theory]
    [InlineData("mean", "mean")]
    [InlineData(" Median ", "median")]
    [InlineData("trimmed-mean:0.2", "trimmed-mean:0.2")]
    [InlineData("krum:2", "krum:2")]
    [InlineData("multikrum:2,6", "multikrum:2,6")]
    [InlineData("bulyan:1", "bulyan:1")]
    [InlineData("norm-bound:0.5", "norm-bound:0.5")]
    public void Parses_every_form(string text, string name) => Assert.Equal(name, RobustRules.Parse(text).Name);

    [Theory]
    [InlineData("mode", "--aggregator 'mode' is unknown")]
    [InlineData("trimmed-mean:0.5", "in (0, 0.5)")]
    [InlineData("trimmed-mean:NaN", "in (0, 0.5)")]
    [InlineData("krum:-1", "krum needs f")]
    [InlineData("multikrum:2", "multikrum needs f and M")]
    [InlineData("multikrum:2,0", "M (updates averaged) must be at least 1")]
    [InlineData("norm-bound:-1", "finite positive L2 bound")]
    [InlineData("norm-bound:NaN", "finite positive L2 bound")]
    public void Refuses_bad_forms_naming_the_problem(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<TrainingException>(() => RobustRules.Parse(text)).Message);
}
