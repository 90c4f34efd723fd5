namespace AllReduceNet.Serving.Drift;

/// <summary>What one tested window said, as kept in a monitor's history (GET /drift's <c>history</c>, the status page's drift plot).</summary>
/// <param name="EndRow">The row count seen by the monitor when the window was taken (its last row).</param>
/// <param name="At">When its test finished (UTC).</param>
/// <param name="FeaturesDrifted">Features drifted by the chosen per-feature test.</param>
/// <param name="DriftedShare">Their share of all features.</param>
/// <param name="DatasetDrift">Whether the share reached --drift-share.</param>
/// <param name="MmdPValue">The MMD test's p-value on the activations.</param>
/// <param name="PredictionPValue">The prediction drift test's p-value.</param>
/// <param name="Drift">Whether any test alarmed.</param>
/// <param name="WindowAccuracy">Accuracy of the window's labeled rows at test time, or null when none was labeled.</param>
internal sealed record DriftWindowSummary(long EndRow, DateTime At, int FeaturesDrifted, double DriftedShare, bool DatasetDrift,
    double MmdPValue, double PredictionPValue, bool Drift, double? WindowAccuracy);
