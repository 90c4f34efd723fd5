namespace AllReduceNet.Lifecycle.Tests;

/// <summary>
/// How big one run of the lifecycle loop is. <see cref="Test"/> is the CI test (a Fashion-MNIST subset, a couple of
/// epochs); <see cref="Full"/> is benchmarks/run-lifecycle.sh (the whole data set), chosen with LIFECYCLE_SCALE=full.
/// </summary>
/// <param name="TrainSamples">Training images (null: all 60,000).</param>
/// <param name="ValidationSamples">Test-set images Train.dll validates on (null: all 10,000).</param>
/// <param name="StreamFirst">First test image of the request stream.</param>
/// <param name="StreamCount">Images the stream draws from before and during retraining (labels fed back).</param>
/// <param name="EvaluationCount">Images after those, never fed back, on which the versions are compared at the end.</param>
internal sealed record LifecycleScale(string Name, int? TrainSamples, int? ValidationSamples, int StreamFirst, int StreamCount, int EvaluationCount,
    int Epochs, int RetrainEpochs, int ExtraWeight, int CleanRows, int DriftWindow, int DriftStep, int ConsecutiveWindows, int ExperimentMinSamples,
    int BatchRows, TimeSpan Deadline)
{
    /// <summary>Brightness and contrast after the change point: x' = 0.5 x + 100 (grey background, halved contrast).</summary>
    public const double Contrast = 0.5, Brightness = 100;

    public static LifecycleScale Test { get; } = new("test", 6000, 2000, 2000, 4000, 2000,
        Epochs: 2, RetrainEpochs: 2, ExtraWeight: 8, CleanRows: 600, DriftWindow: 200, DriftStep: 100, ConsecutiveWindows: 4,
        ExperimentMinSamples: 150, BatchRows: 20, Deadline: TimeSpan.FromMinutes(4));

    // The whole data set: validation on all 10,000 test images; the stream draws from test images 0..6999 (labels fed
    // back, so v2 trains on them) and the versions are compared on 7000..9999, which no version trained on. The
    // monitor waits for 16 drifted windows in a row (about 4,000 shifted rows), so that the retrain has that many labels.
    public static LifecycleScale Full { get; } = new("full", null, null, 0, 7000, 3000,
        Epochs: 3, RetrainEpochs: 3, ExtraWeight: 15, CleanRows: 1000, DriftWindow: 500, DriftStep: 250, ConsecutiveWindows: 16,
        ExperimentMinSamples: 200, BatchRows: 25, Deadline: TimeSpan.FromMinutes(30));

    public static LifecycleScale FromEnvironment() =>
        Environment.GetEnvironmentVariable("LIFECYCLE_SCALE") == "full" ? Full : Test;
}
