namespace AllReduceNet.Serving.Drift;

/// <summary>One window's verdicts: how many features drifted by each per-feature test, the dataset drift flag of the
/// chosen test (Evidently's share rule), the multivariate MMD test on activations and the prediction drift test.</summary>
/// <param name="Rows">Rows in the window.</param>
/// <param name="Features">Input features tested.</param>
/// <param name="KsDrifted">Features with KS p below its threshold.</param>
/// <param name="WassersteinDrifted">Features whose normed Wasserstein distance is above its threshold.</param>
/// <param name="PsiDrifted">Features whose PSI is above its threshold.</param>
/// <param name="FeatureTest">The test counted for <see cref="DatasetDrift"/>.</param>
/// <param name="TopFeatures">The most drifted features by the chosen test's score (feature, score), at most five.</param>
/// <param name="Mmd2">MMD² of the activations against the reference sample.</param>
/// <param name="MmdPValue">Its permutation p-value.</param>
/// <param name="ClassPValue">Chi-square p-value of the predicted classes against the validation predictions.</param>
/// <param name="ConfidencePValue">KS p-value of the confidences against the validation confidences.</param>
/// <param name="ConfidencePsi">PSI of the confidences.</param>
/// <param name="Options">The thresholds the verdicts used.</param>
internal sealed record DriftReport(int Rows, int Features, int KsDrifted, int WassersteinDrifted, int PsiDrifted, FeatureDriftTest FeatureTest,
    IReadOnlyList<(int Feature, double Score)> TopFeatures, double Mmd2, double MmdPValue, double ClassPValue, double ConfidencePValue,
    double ConfidencePsi, DriftOptions Options)
{
    /// <summary>Drifted features by the chosen test.</summary>
    public int Drifted => FeatureTest switch
    {
        FeatureDriftTest.Ks => KsDrifted,
        FeatureDriftTest.Wasserstein => WassersteinDrifted,
        _ => PsiDrifted,
    };

    /// <summary>Share of drifted features by the chosen test.</summary>
    public double DriftedShare => (double)Drifted / Features;

    /// <summary>Evidently's dataset drift: at least <see cref="DriftOptions.DriftShare"/> of the features drifted.</summary>
    public bool DatasetDrift => DriftedShare >= Options.DriftShare;

    /// <summary>The multivariate test's verdict.</summary>
    public bool MultivariateDrift => MmdPValue < Options.MmdPValue;

    /// <summary>The prediction test's p-value: the smaller of the class and confidence p-values, doubled (Bonferroni over the two).</summary>
    public double PredictionPValue => Math.Min(1, 2 * Math.Min(ClassPValue, ConfidencePValue));

    /// <summary>The prediction test's verdict.</summary>
    public bool PredictionDrift => PredictionPValue < Options.PredictionPValue;

    /// <summary>Any of the three alarms.</summary>
    public bool Drift => DatasetDrift || MultivariateDrift || PredictionDrift;
}
