using AllReduceNet.Serving.Drift;

namespace AllReduceNet.Serving.Status;

/// <summary>
/// What the status page shows, computed from the history and the live state when asked: per model the table of its
/// versions, the traffic share of each version per sample interval, the feedback accuracy of each version and of the
/// experiment's variants over time, the drift windows of each version, and the experiment's evidence. GET /status.json
/// serves it as JSON; <see cref="StatusPage"/> draws it.
/// </summary>
internal static class StatusReport
{
    /// <summary>How far back the table's traffic share looks.</summary>
    public static readonly TimeSpan RecentSpan = TimeSpan.FromSeconds(60);

    public static StatusView Build(StatusHistory history, StatusOptions options, ServedTraffic traffic, ModelRepository models,
        DriftMonitors monitors, ExperimentRegistry experiments)
    {
        var samples = history.Samples();
        var now = DateTimeOffset.UtcNow;
        var live = traffic.Read().ToDictionary(t => (t.Model, t.Version));
        var names = models.Names.Concat(samples.SelectMany(s => s.Versions).Select(v => v.Model)).Distinct().Order(StringComparer.Ordinal);
        var views = names.Select(name => Model(name, samples, now, live, models, monitors, experiments)).ToArray();
        return new StatusView(now, options.IntervalMs / 1000.0, samples.Length, history.Capacity, samples.Length == 0 ? null : samples[0].At, views);
    }

    private static ModelStatus Model(string name, StatusSample[] samples, DateTimeOffset now, Dictionary<(string, string), VersionTraffic> live,
        ModelRepository models, DriftMonitors monitors, ExperimentRegistry experiments)
    {
        IReadOnlyList<ServedModel> served = models.Names.Contains(name) ? models.Versions(name) : [];
        var latest = experiments.Latest.FirstOrDefault(e => e.Model == name);
        var running = latest is { IsRunning: true } ? latest : null;
        string? pinned = served.Count == 0 ? null : experiments.Pinned(name);
        string? defaultVersion = served.Count == 0 ? null : pinned ?? served[^1].Version;
        var versionNames = served.Select(m => m.Version)
            .Concat(samples.SelectMany(s => s.Versions).Where(v => v.Model == name).Select(v => v.Version))
            .Distinct().OrderBy(v => long.TryParse(v, out long n) ? n : long.MaxValue).ThenBy(v => v, StringComparer.Ordinal).ToArray();
        var recentShares = RecentShares(name, samples, now);

        var rows = versionNames.Select(version =>
        {
            var model = served.FirstOrDefault(m => m.Version == version);
            var t = live.GetValueOrDefault((name, version));
            var monitor = model is null ? null : monitors.For(model);
            var (accuracy, labeled, reference) = monitor?.FeedbackAccuracy() ?? (null, 0, null);
            string role = model is null ? "not served" : Role(version, running, defaultVersion, pinned);
            return new VersionRow(version, model?.Platform, role, t?.Requests ?? 0, t?.ClientErrors ?? 0, t?.Answers.Errors ?? 0,
                t is null ? 0 : t.Answers.ErrorRate, Finite(t?.Answers.P50Ms), Finite(t?.Answers.P99Ms), recentShares.GetValueOrDefault(version),
                accuracy, labeled, reference, DriftState(monitor));
        }).ToArray();

        return new ModelStatus(name, rows, Traffic(name, versionNames, samples), Accuracy(name, versionNames, samples, latest),
            served.Select(m => Drift(m, monitors.For(m), monitors.Options)).ToArray(), latest is null ? null : Experiment(latest, samples));
    }

    private static string Role(string version, Experiment? running, string? defaultVersion, string? pinned)
    {
        if (running is not null)
        {
            var settings = running.Settings;
            if (version == settings.Control) return settings.Shadow ? "control (100%, shadowed)" : $"control ({Percent(100 - settings.CandidatePercent)})";
            if (version == settings.Candidate) return settings.Shadow ? "candidate (shadow copies)" : $"candidate ({Percent(settings.CandidatePercent)})";
        }
        if (version == defaultVersion) return pinned is null ? "default" : "default (pinned by the last experiment)";
        return "by version only";
    }

    private static string Percent(double value) => value.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + "%";

    /// <summary>Each version's share of the model's requests over the latest <see cref="RecentSpan"/> of samples.</summary>
    private static Dictionary<string, double> RecentShares(string name, StatusSample[] samples, DateTimeOffset now)
    {
        if (samples.Length < 2) return [];
        var last = samples[^1];
        var first = samples.LastOrDefault(s => s.At <= last.At - RecentSpan) ?? samples[0];
        var delta = Deltas(name, first, last);
        long total = delta.Values.Sum();
        return total == 0 ? [] : delta.ToDictionary(d => d.Key, d => (double)d.Value / total);
    }

    private static Dictionary<string, long> Deltas(string name, StatusSample before, StatusSample after)
    {
        var old = before.Versions.Where(v => v.Model == name).ToDictionary(v => v.Version, v => v.Requests);
        return after.Versions.Where(v => v.Model == name).ToDictionary(v => v.Version, v => Math.Max(0, v.Requests - old.GetValueOrDefault(v.Version)));
    }

    private static TrafficSeries Traffic(string name, string[] versions, StatusSample[] samples)
    {
        var times = new List<DateTimeOffset>();
        var shares = versions.ToDictionary(v => v, _ => new List<double?>());
        var rates = new List<double>();
        for (int i = 1; i < samples.Length; i++)
        {
            var delta = Deltas(name, samples[i - 1], samples[i]);
            long total = delta.Values.Sum();
            times.Add(samples[i].At);
            rates.Add(total / Math.Max(1e-3, (samples[i].At - samples[i - 1].At).TotalSeconds));
            foreach (string version in versions)
                shares[version].Add(total == 0 ? null : (double)delta.GetValueOrDefault(version) / total);
        }
        return new TrafficSeries(times.ToArray(), rates.ToArray(), versions.Select(v => new VersionShare(v, shares[v].ToArray())).ToArray());
    }

    private static AccuracySeries Accuracy(string name, string[] versions, StatusSample[] samples, Experiment? experiment)
    {
        var lines = new List<AccuracyLine>();
        foreach (string version in versions)
        {
            var values = samples.Select(s => s.Versions.FirstOrDefault(v => v.Model == name && v.Version == version)?.FeedbackAccuracy).ToArray();
            if (values.Any(v => v is not null)) lines.Add(new AccuracyLine($"v{version} feedback", version, "feedback", values));
        }
        if (experiment is not null)
        {
            var mine = samples.Select(s => s.Experiments.FirstOrDefault(e => e.Model == name && e.Started == experiment.Started)).ToArray();
            lines.Add(new AccuracyLine($"v{experiment.Settings.Control} control", experiment.Settings.Control, "experiment", mine.Select(e => e?.ControlAccuracy).ToArray()));
            lines.Add(new AccuracyLine($"v{experiment.Settings.Candidate} candidate", experiment.Settings.Candidate, "experiment", mine.Select(e => e?.CandidateAccuracy).ToArray()));
        }
        return new AccuracySeries(samples.Select(s => s.At).ToArray(), lines.Where(l => l.Values.Any(v => v is not null)).ToArray());
    }

    private static string DriftState(DriftMonitor? monitor)
    {
        if (monitor is null) return "none";
        if (monitor.Unavailable is not null) return "none (no reference statistics)";
        var windows = monitor.Windows();
        return windows.Length == 0 ? "no window tested yet" : windows[^1].Drift ? "DRIFT" : "no drift";
    }

    private static DriftStatus Drift(ServedModel model, DriftMonitor monitor, DriftOptions options) =>
        new(model.Version, monitor.Unavailable is null, monitor.Unavailable, options.DriftShare, options.MmdPValue, options.PredictionPValue,
            options.ChosenFeatureTest.ToString().ToLowerInvariant(), options.Window, monitor.Windows());

    private static ExperimentView Experiment(Experiment experiment, StatusSample[] samples)
    {
        var settings = experiment.Settings;
        var decision = experiment.Decision;
        var evidence = decision?.Evidence ?? experiment.Evidence();
        var mine = samples.Select(s => (s.At, Sample: s.Experiments.FirstOrDefault(e => e.Model == experiment.Model && e.Started == experiment.Started)))
            .Where(p => p.Sample is not null).ToArray();
        string state = decision is null ? "running" : decision.Action switch { "promote" => "promoted", "rollback" => "rolled back", _ => "stopped" };
        return new ExperimentView(settings.Control, settings.Candidate, state, settings.Shadow ? "shadow" : "split", settings.CandidatePercent,
            settings.Alpha, settings.MinSamples, 1 / settings.Alpha, Finite(evidence.LikelihoodRatio), evidence.PValue, Finite(evidence.Difference), evidence.Testing,
            decision?.Action, decision?.Reason, decision?.Time, experiment.Started,
            Variant(settings.Control, evidence.Control), Variant(settings.Candidate, evidence.Candidate),
            mine.Select(p => p.At).ToArray(), mine.Select(p => p.Sample!.PValue).ToArray());
    }

    private static VariantView Variant(string version, VariantStats.Snapshot stats) =>
        new(version, stats.Requests, stats.Errors, stats.ErrorRate, Finite(stats.P50Ms), Finite(stats.P99Ms), stats.Labeled, stats.Correct, Finite(stats.Accuracy));

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}

/// <summary>The whole page's data.</summary>
internal sealed record StatusView(DateTimeOffset GeneratedAt, double IntervalSeconds, int Samples, int HistoryCapacity, DateTimeOffset? HistoryStart, ModelStatus[] Models);

/// <summary>One model's part of the page.</summary>
internal sealed record ModelStatus(string Name, VersionRow[] Versions, TrafficSeries Traffic, AccuracySeries Accuracy, DriftStatus[] Drift, ExperimentView? Experiment);

/// <summary>A row of the versions table: traffic, errors and latency of the latest answers, feedback accuracy, drift.</summary>
internal sealed record VersionRow(string Version, string? Platform, string Role, long Requests, long ClientErrors, long ServerErrors, double ServerErrorRate,
    double? LatencyP50Ms, double? LatencyP99Ms, double? RecentShare, double? FeedbackAccuracy, int FeedbackLabeled, double? ReferenceAccuracy, string Drift);

/// <summary>Per sample interval (ending at <see cref="Times"/>[i]): the model's request rate and each version's share (null: no request).</summary>
internal sealed record TrafficSeries(DateTimeOffset[] Times, double[] RequestsPerSecond, VersionShare[] Versions);

/// <summary>A version's share of each interval's requests.</summary>
internal sealed record VersionShare(string Version, double?[] Share);

/// <summary>Accuracy lines over the samples' times.</summary>
internal sealed record AccuracySeries(DateTimeOffset[] Times, AccuracyLine[] Lines);

/// <summary>One accuracy line: a version's rolling feedback accuracy (source "feedback"), or an experiment variant's
/// accuracy over all its labeled answers (source "experiment"); null where there was no label yet.</summary>
internal sealed record AccuracyLine(string Label, string Version, string Source, double?[] Values);

/// <summary>A version's drift windows and the thresholds they are judged by.</summary>
internal sealed record DriftStatus(string Version, bool Available, string? Reason, double DriftShareThreshold, double MmdPValueThreshold,
    double PredictionPValueThreshold, string FeatureTest, int Window, DriftWindowSummary[] Windows);

/// <summary>The model's latest experiment: settings, per-variant figures, the evidence now and its p-value over time.</summary>
internal sealed record ExperimentView(string Control, string Candidate, string State, string Mode, double CandidatePercent, double Alpha, int MinSamples,
    double LikelihoodRatioThreshold, double? LikelihoodRatio, double PValue, double? Difference, bool Testing, string? Decision, string? Reason,
    DateTimeOffset? DecidedAt, DateTimeOffset Started, VariantView ControlVariant, VariantView CandidateVariant, DateTimeOffset[] Times, double[] PValues);

/// <summary>One variant's figures in an experiment.</summary>
internal sealed record VariantView(string Version, long Requests, long Errors, double ErrorRate, double? LatencyP50Ms, double? LatencyP99Ms,
    long Labeled, long Correct, double? Accuracy);
