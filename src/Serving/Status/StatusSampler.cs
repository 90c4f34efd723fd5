using AllReduceNet.Serving.Drift;

namespace AllReduceNet.Serving.Status;

/// <summary>
/// Takes a <see cref="StatusSample"/> when the server starts and every <see cref="StatusOptions.IntervalMs"/> after:
/// cumulative request counts per version, each version's feedback accuracy and each experiment's accuracies and
/// evidence. A sample reads counters under their own short locks; it never touches the request path.
/// </summary>
internal sealed class StatusSampler(StatusHistory history, StatusOptions options, ServedTraffic traffic, ModelRepository models,
    DriftMonitors monitors, ExperimentRegistry experiments, ILogger<StatusSampler> logger) : BackgroundService
{
    /// <summary>Takes one sample and adds it to the history.</summary>
    public StatusSample Sample()
    {
        var requests = traffic.Read().ToDictionary(t => (t.Model, t.Version), t => t.Requests);
        var versions = new List<VersionSample>();
        var served = new HashSet<(string, string)>();
        foreach (var model in models.All)
        {
            served.Add((model.Name, model.Version));
            var (accuracy, labeled, _) = monitors.For(model).FeedbackAccuracy();
            versions.Add(new VersionSample(model.Name, model.Version, requests.GetValueOrDefault((model.Name, model.Version)), accuracy, labeled));
        }
        // A version taken out of service keeps its place in the traffic history.
        foreach (var ((name, version), count) in requests)
            if (!served.Contains((name, version))) versions.Add(new VersionSample(name, version, count, null, 0));
        var running = experiments.Latest.Select(e =>
        {
            var evidence = e.Decision?.Evidence ?? e.Evidence();
            return new ExperimentSample(e.Model, e.Started, Finite(evidence.Control.Accuracy), Finite(evidence.Candidate.Accuracy), evidence.PValue, evidence.LikelihoodRatio);
        }).ToArray();
        var sample = new StatusSample(DateTimeOffset.UtcNow, versions, running);
        history.Add(sample);
        return sample;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.IntervalMs));
        try
        {
            do
            {
                try { Sample(); }
                catch (Exception e)
                {
                    // A failed sample leaves a gap in the plots; the server keeps serving.
                    logger.LogError(e, "status sample failed");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
