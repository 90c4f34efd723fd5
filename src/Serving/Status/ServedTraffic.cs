using System.Collections.Concurrent;

namespace AllReduceNet.Serving.Status;

/// <summary>
/// Every inference request's outcome per model version, for the status page: all requests, the client's refusals
/// (4xx) and, among the others, the server errors (5xx) and the latencies of the latest
/// <see cref="VariantStats.LatencyWindow"/> answers (p50, p99). <see cref="RequestMetrics"/> records here beside its
/// Prometheus histogram, whose buckets prometheus-net does not expose. Thread-safe; a lock per version.
/// </summary>
internal sealed class ServedTraffic
{
    private readonly ConcurrentDictionary<(string Model, string Version), Counters> _versions = new();

    private sealed class Counters
    {
        public readonly VariantStats Answers = new();
        public long ClientErrors;
    }

    /// <summary>Records one answered request.</summary>
    /// <param name="model">The version that was asked.</param>
    /// <param name="statusCode">The status sent.</param>
    /// <param name="milliseconds">Time from receiving the request to its answer.</param>
    public void Record(ServedModel model, int statusCode, double milliseconds)
    {
        var counters = _versions.GetOrAdd((model.Name, model.Version), _ => new Counters());
        // A 4xx is the client's fault: counted as traffic, kept out of the version's latencies and error rate.
        if (statusCode is >= 400 and < 500) Interlocked.Increment(ref counters.ClientErrors);
        else counters.Answers.RecordRequest(milliseconds, error: statusCode >= 500);
    }

    /// <summary>The figures of every version that has had a request, in no particular order.</summary>
    public IReadOnlyList<VersionTraffic> Read() =>
        _versions.Select(pair => new VersionTraffic(pair.Key.Model, pair.Key.Version, Interlocked.Read(ref pair.Value.ClientErrors), pair.Value.Answers.Read())).ToArray();
}

/// <summary>One version's requests so far.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Version">Version.</param>
/// <param name="ClientErrors">Requests refused with a 4xx.</param>
/// <param name="Answers">The others: count, 5xx count and latency percentiles of the latest answers.</param>
internal sealed record VersionTraffic(string Model, string Version, long ClientErrors, VariantStats.Snapshot Answers)
{
    /// <summary>Every request, refused or answered.</summary>
    public long Requests => ClientErrors + Answers.Requests;
}
