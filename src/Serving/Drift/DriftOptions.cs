using System.Globalization;

namespace AllReduceNet.Serving.Drift;

/// <summary>
/// The drift monitor's settings (command line <c>--drift-*</c>; docs/drift.md). Defaults follow Evidently for the
/// per-feature tests (KS p &lt; 0.05, normed Wasserstein &gt; 0.1, PSI &gt; 0.1, dataset drift when at least half the
/// features drifted). The multivariate and prediction tests alarm at p &lt; 0.01 each, so that the three alarms together
/// stay within a 5% false alarm rate per window on unshifted traffic.
/// </summary>
internal sealed record DriftOptions
{
    /// <summary>Rows in a window (<c>--drift-window</c>).</summary>
    public int Window { get; init; } = 500;

    /// <summary>New rows between two windows (<c>--drift-step</c>): a window is evaluated every Step rows, over the latest Window.</summary>
    public int Step { get; init; } = 250;

    /// <summary>Most rows kept for feedback per model version (<c>--drift-store-rows</c>): the oldest requests are forgotten first.</summary>
    public int StoreRows { get; init; } = 10_000;

    /// <summary>The test counted for dataset drift (<c>--drift-feature-test</c>).</summary>
    public FeatureDriftTest FeatureTest { get; init; } = FeatureDriftTest.Auto;

    /// <summary>KS p-value below which a feature drifted (<c>--drift-ks-p-value</c>).</summary>
    public double KsPValue { get; init; } = 0.05;

    /// <summary>Normed Wasserstein distance above which a feature drifted (<c>--drift-wasserstein</c>).</summary>
    public double WassersteinThreshold { get; init; } = 0.1;

    /// <summary>PSI above which a feature drifted (<c>--drift-psi</c>).</summary>
    public double PsiThreshold { get; init; } = 0.1;

    /// <summary>Share of drifted features at or above which the dataset drifted (<c>--drift-share</c>).</summary>
    public double DriftShare { get; init; } = 0.5;

    /// <summary>MMD permutation p-value below which the activations drifted (<c>--drift-mmd-p-value</c>).</summary>
    public double MmdPValue { get; init; } = 0.01;

    /// <summary>Permutations of the MMD test (<c>--drift-permutations</c>).</summary>
    public int Permutations { get; init; } = 199;

    /// <summary>Prediction-drift p-value below which the predictions drifted (<c>--drift-prediction-p-value</c>).</summary>
    public double PredictionPValue { get; init; } = 0.01;

    /// <summary>Accuracy drop from the validation accuracy that counts as drift, once <see cref="MinLabels"/> labels are in (<c>--drift-accuracy-drop</c>).</summary>
    public double AccuracyDrop { get; init; } = 0.05;

    /// <summary>Labels needed before the accuracy is judged (<c>--drift-min-labels</c>).</summary>
    public int MinLabels { get; init; } = 100;

    /// <summary>Least time from the start of one window's test to the start of the next (<c>--drift-min-interval-ms</c>):
    /// under saturation a window is due several times a second, and tests run back to back took a core from the requests.</summary>
    public int MinIntervalMs { get; init; } = 1000;

    /// <summary>Most of one core the window tests may use on average (<c>--drift-cpu-share</c>): after a test that took
    /// T, the next starts no sooner than T / share after it began, so a slow machine tests less often rather than serving less.</summary>
    public double CpuShare { get; init; } = 0.1;

    /// <summary>The per-feature test the rule chooses for this window size.</summary>
    public FeatureDriftTest ChosenFeatureTest => FeatureTest != FeatureDriftTest.Auto ? FeatureTest
        : Window <= 1000 ? FeatureDriftTest.Ks : FeatureDriftTest.Wasserstein;

    /// <summary>Reads the options; absent ones keep their defaults.</summary>
    /// <exception cref="ServingConfigurationException">A value is not a number, is negative or NaN, or out of its range (named in the message).</exception>
    public static DriftOptions From(IConfiguration configuration)
    {
        var options = new DriftOptions();
        options = options with
        {
            Window = Integer(configuration, "drift-window", options.Window, 2),
            Step = Integer(configuration, "drift-step", options.Step, 1),
            StoreRows = Integer(configuration, "drift-store-rows", options.StoreRows, 1),
            KsPValue = Probability(configuration, "drift-ks-p-value", options.KsPValue),
            WassersteinThreshold = NonNegative(configuration, "drift-wasserstein", options.WassersteinThreshold),
            PsiThreshold = NonNegative(configuration, "drift-psi", options.PsiThreshold),
            DriftShare = Probability(configuration, "drift-share", options.DriftShare, allowOne: true),
            MmdPValue = Probability(configuration, "drift-mmd-p-value", options.MmdPValue),
            Permutations = Integer(configuration, "drift-permutations", options.Permutations, 1),
            PredictionPValue = Probability(configuration, "drift-prediction-p-value", options.PredictionPValue),
            AccuracyDrop = Probability(configuration, "drift-accuracy-drop", options.AccuracyDrop),
            MinLabels = Integer(configuration, "drift-min-labels", options.MinLabels, 1),
            MinIntervalMs = Integer(configuration, "drift-min-interval-ms", options.MinIntervalMs, 0),
            CpuShare = Probability(configuration, "drift-cpu-share", options.CpuShare, allowOne: true),
        };
        if (configuration["drift-feature-test"] is { } test)
            options = options with
            {
                FeatureTest = Enum.TryParse<FeatureDriftTest>(test.Trim(), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(test, out _)
                    ? parsed
                    : throw new ServingConfigurationException($"--drift-feature-test is '{test}', but must be one of: auto, ks, wasserstein, psi."),
            };
        if (options.Step > options.Window)
            throw new ServingConfigurationException($"--drift-step ({options.Step}) must not exceed --drift-window ({options.Window}): rows would go unexamined.");
        if (options.StoreRows < options.Window)
            throw new ServingConfigurationException($"--drift-store-rows ({options.StoreRows}) must be at least --drift-window ({options.Window}): a window is taken from the stored rows.");
        return options;
    }

    private static int Integer(IConfiguration configuration, string name, int fallback, int min)
    {
        string? text = configuration[name];
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) || value < min)
            throw new ServingConfigurationException($"--{name} is '{text}', but must be an integer of at least {min}.");
        return value;
    }

    private static double Number(IConfiguration configuration, string name, double fallback, Func<double, bool> valid, string range)
    {
        string? text = configuration[name];
        if (text is null) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || !valid(value))
            throw new ServingConfigurationException($"--{name} is '{text}', but must be {range}.");
        return value;
    }

    private static double NonNegative(IConfiguration configuration, string name, double fallback) =>
        Number(configuration, name, fallback, v => v >= 0, "a finite number of at least 0 (a negative or NaN threshold is refused)");

    private static double Probability(IConfiguration configuration, string name, double fallback, bool allowOne = false) =>
        Number(configuration, name, fallback, v => v > 0 && (allowOne ? v <= 1 : v < 1),
            allowOne ? "a number in (0, 1]" : "a number strictly between 0 and 1 (a negative or NaN threshold is refused)");

    /// <summary>The thresholds as reported by GET /drift.</summary>
    public object Thresholds => new
    {
        window = Window, step = Step, feature_test = ChosenFeatureTest.ToString().ToLowerInvariant(),
        ks_p_value = KsPValue, wasserstein = WassersteinThreshold, psi = PsiThreshold, drift_share = DriftShare,
        mmd_p_value = MmdPValue, mmd_permutations = Permutations, prediction_p_value = PredictionPValue,
        accuracy_drop = AccuracyDrop, min_labels = MinLabels, min_interval_ms = MinIntervalMs, cpu_share = CpuShare,
    };
}
