using Prometheus;

namespace AllReduceNet.Serving.Drift;

/// <summary>The drift monitor's Prometheus metrics (<c>allreducenet_drift_*</c>, labeled by model and version), in the
/// server's registry so that GET /metrics serves them beside the serving metrics.</summary>
internal sealed class DriftMetrics
{
    private static readonly string[] Labels = ["model", "version"];

    public DriftMetrics(ServingMetrics serving)
    {
        var factory = Metrics.WithCustomRegistry(serving.Registry);
        Gauge Make(string name, string help) => factory.CreateGauge(name, help, new GaugeConfiguration { LabelNames = Labels });
        FeaturesDrifted = Make("allreducenet_drift_features_drifted", "Input features drifted in the latest window, by the chosen per-feature test.");
        FeaturesDriftedShare = Make("allreducenet_drift_features_drifted_share", "Share of input features drifted in the latest window.");
        DatasetDrift = Make("allreducenet_drift_dataset_drift", "1 when the latest window's share of drifted features reached --drift-share, else 0.");
        MmdPValue = Make("allreducenet_drift_mmd_p_value", "Permutation p-value of the MMD test on the latest window's penultimate activations.");
        PredictionPValue = Make("allreducenet_drift_prediction_p_value", "p-value of the prediction drift test (classes and confidences) on the latest window.");
        Detected = Make("allreducenet_drift_detected", "1 when any drift test alarmed on the latest window, else 0.");
        Accuracy = Make("allreducenet_drift_feedback_accuracy", "Accuracy over the latest labeled rows (up to --drift-window of them), from feedback.");
        Windows = factory.CreateCounter("allreducenet_drift_windows_total", "Windows of requests tested for drift.", new CounterConfiguration { LabelNames = Labels });
        Feedback = factory.CreateCounter("allreducenet_drift_feedback_rows_total", "Rows whose true label came back through the feedback endpoint.", new CounterConfiguration { LabelNames = Labels });
    }

    public Gauge FeaturesDrifted { get; }
    public Gauge FeaturesDriftedShare { get; }
    public Gauge DatasetDrift { get; }
    public Gauge MmdPValue { get; }
    public Gauge PredictionPValue { get; }
    public Gauge Detected { get; }
    public Gauge Accuracy { get; }
    public Counter Windows { get; }
    public Counter Feedback { get; }
}
