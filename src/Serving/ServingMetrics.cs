using Prometheus;

namespace AllReduceNet.Serving;

/// <summary>
/// The server's Prometheus metrics, all named <c>allreducenet_serving_*</c>, in a registry of their own (one per
/// application, so that several servers in one process, as in the tests, do not share counts); served at <c>GET /metrics</c>.
/// </summary>
internal sealed class ServingMetrics
{
    private static readonly string[] ModelLabels = ["model", "version"];

    public ServingMetrics()
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("allreducenet_serving_requests_total",
            "Inference requests (infer and /predict) to a served model version, by HTTP status code.",
            new CounterConfiguration { LabelNames = ["model", "version", "code"] });
        RequestSeconds = factory.CreateHistogram("allreducenet_serving_request_duration_seconds",
            "Time from receiving an inference request to its answer, in seconds.",
            new HistogramConfiguration { LabelNames = ModelLabels, Buckets = Histogram.ExponentialBuckets(0.0001, 2, 18) });
        QueueSeconds = factory.CreateHistogram("allreducenet_serving_queue_duration_seconds",
            "Time a request waited in its version's queue before its forward pass began, in seconds.",
            new HistogramConfiguration { LabelNames = ModelLabels, Buckets = Histogram.ExponentialBuckets(0.00001, 2, 20) });
        BatchRows = factory.CreateHistogram("allreducenet_serving_batch_size",
            "Rows in each batched forward pass.",
            new HistogramConfiguration { LabelNames = ModelLabels, Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
        InFlight = factory.CreateGauge("allreducenet_serving_requests_in_flight",
            "Inference requests being handled now (reading, queued or running).",
            new GaugeConfiguration { LabelNames = ModelLabels });
        QueueDepth = factory.CreateGauge("allreducenet_serving_queue_depth",
            "Requests waiting in a version's queue for their forward pass.",
            new GaugeConfiguration { LabelNames = ModelLabels });
    }

    /// <summary>The registry that holds these metrics and nothing else.</summary>
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public Counter Requests { get; }
    public Histogram RequestSeconds { get; }
    public Histogram QueueSeconds { get; }
    public Histogram BatchRows { get; }
    public Gauge InFlight { get; }
    public Gauge QueueDepth { get; }
}
