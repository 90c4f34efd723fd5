using Prometheus;

namespace AllReduceNet.Serving;

/// <summary>
/// The experiments' Prometheus gauges, <c>allreducenet_serving_experiment_*</c>, in the server's registry: per model
/// and variant (with its version) requests, errors, labeled answers, accuracy, p50 and p99 latency and traffic share;
/// per model the test's always-valid p-value and likelihood ratio and whether it is running. Computed when scraped.
/// </summary>
internal static class ExperimentMetrics
{
    public static void Register(CollectorRegistry registry, ExperimentRegistry experiments)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        var variantLabels = new GaugeConfiguration { LabelNames = ["model", "variant", "version"] };
        var modelLabels = new GaugeConfiguration { LabelNames = ["model"] };
        var requests = factory.CreateGauge("allreducenet_serving_experiment_requests", "Requests answered by each variant of the model's latest experiment (shadow copies included).", variantLabels);
        var errors = factory.CreateGauge("allreducenet_serving_experiment_errors", "Answers with a server error (5xx, or a failed shadow copy) by each variant.", variantLabels);
        var labeled = factory.CreateGauge("allreducenet_serving_experiment_labeled", "Answers of each variant whose true label came back (feedback).", variantLabels);
        var accuracy = factory.CreateGauge("allreducenet_serving_experiment_accuracy", "Share of each variant's labeled answers that were right.", variantLabels);
        var p50 = factory.CreateGauge("allreducenet_serving_experiment_latency_p50_seconds", "Median latency of each variant's recent answers.", variantLabels);
        var p99 = factory.CreateGauge("allreducenet_serving_experiment_latency_p99_seconds", "99th percentile latency of each variant's recent answers.", variantLabels);
        var share = factory.CreateGauge("allreducenet_serving_experiment_traffic_share", "Configured share of the traffic each variant answers (0 to 1).", variantLabels);
        var pValue = factory.CreateGauge("allreducenet_serving_experiment_p_value", "The sequential test's always-valid p-value (1 until both variants have the minimum sample).", modelLabels);
        var ratio = factory.CreateGauge("allreducenet_serving_experiment_likelihood_ratio", "The mSPRT mixture likelihood ratio; the test decides at 1/alpha.", modelLabels);
        var running = factory.CreateGauge("allreducenet_serving_experiment_running", "1 while the model's experiment runs, 0 once decided.", modelLabels);
        registry.AddBeforeCollectCallback(() =>
        {
            foreach (var experiment in experiments.Latest)
            {
                var evidence = experiment.Decision?.Evidence ?? experiment.Evidence();
                string model = experiment.Model;
                foreach (var (variant, stats, traffic) in new[]
                {
                    ("control", evidence.Control, (100 - experiment.Settings.CandidatePercent) / 100),
                    ("candidate", evidence.Candidate, experiment.Settings.CandidatePercent / 100),
                })
                {
                    string[] labels = [model, variant, experiment.VersionOf(variant == "control" ? Variant.Control : Variant.Candidate)];
                    requests.WithLabels(labels).Set(stats.Requests);
                    errors.WithLabels(labels).Set(stats.Errors);
                    labeled.WithLabels(labels).Set(stats.Labeled);
                    accuracy.WithLabels(labels).Set(stats.Accuracy);
                    p50.WithLabels(labels).Set(stats.P50Ms / 1000);
                    p99.WithLabels(labels).Set(stats.P99Ms / 1000);
                    share.WithLabels(labels).Set(experiment.IsRunning ? traffic : 0);
                }
                pValue.WithLabels(model).Set(evidence.PValue);
                ratio.WithLabels(model).Set(evidence.LikelihoodRatio);
                running.WithLabels(model).Set(experiment.IsRunning ? 1 : 0);
            }
        });
    }
}
