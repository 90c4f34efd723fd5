using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>
/// The experiments of the server, at most one running per model name, and the version each model serves by default
/// after a decision (promotion pins the candidate, rollback the control; stop removes the pin, so the repository's
/// default applies again). Every decision is logged and appended as a JSON line to <c>DIR/NAME/experiments.jsonl</c>
/// in the model repository, from which the pins are restored when the server starts.
/// </summary>
internal sealed partial class ExperimentRegistry
{
    /// <summary>The file, in a model's directory, that records its experiments' decisions.</summary>
    public const string LogFileName = "experiments.jsonl";

    /// <summary>How long a shadow copy may take before it counts as the candidate's error.</summary>
    public static readonly TimeSpan ShadowTimeout = TimeSpan.FromSeconds(30);

    private readonly ModelRepository _models;
    private readonly ServingOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Experiment> _latest = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _pinned = new(StringComparer.Ordinal);
    private readonly object _start = new();

    public ExperimentRegistry(ModelRepository models, ServingOptions options, ServingMetrics metrics, ILogger<ExperimentRegistry> logger)
    {
        _models = models;
        _options = options;
        _logger = logger;
        RestorePins();
        ExperimentMetrics.Register(metrics.Registry, this);
    }

    /// <summary>The answers waiting for labels.</summary>
    public ExperimentOutcomes Outcomes { get; } = new();

    /// <summary>Every model's latest experiment, running or ended.</summary>
    public IEnumerable<Experiment> Latest => _latest.Values;

    /// <summary>Starts an experiment on <paramref name="model"/>.</summary>
    /// <exception cref="ApiException">404: the model or a version is not served; 409: an experiment runs already.</exception>
    public Experiment Start(string model, ExperimentSettings settings)
    {
        _models.Get(model, settings.Control);
        _models.Get(model, settings.Candidate);
        lock (_start)
        {
            if (_latest.TryGetValue(model, out var running) && running.IsRunning)
                throw new ApiException(StatusCodes.Status409Conflict,
                    $"model '{model}' has an experiment running already (control {running.Settings.Control}, candidate {running.Settings.Candidate}); stop, promote or roll it back first.");
            var experiment = new Experiment(model, settings, Decided);
            _latest[model] = experiment;
            Started(_logger, model, settings.Control, settings.Candidate, settings.Shadow ? "shadow" : "split", settings.CandidatePercent);
            return experiment;
        }
    }

    /// <summary>The model's latest experiment.</summary>
    /// <exception cref="ApiException">404: the model is not served, or has had no experiment.</exception>
    public Experiment Get(string model)
    {
        _models.Versions(model);
        return _latest.TryGetValue(model, out var experiment) ? experiment
            : throw ApiException.NotFound($"model '{model}' has had no experiment; start one with POST /v2/repository/models/{model}/experiment.");
    }

    /// <summary>The running experiment of a model, or null.</summary>
    public Experiment? Running(string model) => _latest.TryGetValue(model, out var e) && e.IsRunning ? e : null;

    /// <summary>The version a decision pinned as the model's default, when it is still served; else null.</summary>
    public string? Pinned(string model)
    {
        if (!_pinned.TryGetValue(model, out string? version)) return null;
        try { return _models.Versions(model).Any(m => m.Version == version) ? version : null; }
        catch (ApiException) { return null; }
    }

    /// <summary>Sends a copy of a request to the candidate; its answer is only recorded (shadow mode).</summary>
    public void Shadow(ExperimentOutcomes.Outcome outcome, float[] input, int rows)
    {
        var experiment = outcome.Experiment;
        _ = Task.Run(async () =>
        {
            long started = Stopwatch.GetTimestamp();
            try
            {
                var (_, _, classes) = await _models.InferAsync(experiment.Model, experiment.Settings.Candidate, _ => (input, rows)).WaitAsync(ShadowTimeout);
                experiment.RecordRequest(Variant.Candidate, Stopwatch.GetElapsedTime(started).TotalMilliseconds, error: false);
                outcome.ShadowAnswered(classes);
            }
            catch (Exception e)
            {
                experiment.RecordRequest(Variant.Candidate, Stopwatch.GetElapsedTime(started).TotalMilliseconds, error: true);
                outcome.ShadowAnswered(null);
                ShadowFailed(_logger, experiment.Model, experiment.Settings.Candidate, e.Message);
            }
        });
    }

    private void Decided(Experiment experiment, ExperimentDecision decision)
    {
        if (decision.ServedVersion is null) _pinned.TryRemove(experiment.Model, out _);
        else _pinned[experiment.Model] = decision.ServedVersion;
        var evidence = decision.Evidence;
        LogDecision(_logger, experiment.Model, decision.Action, decision.ServedVersion ?? "(repository default)", decision.Reason,
            evidence.Control.Correct, evidence.Control.Labeled, evidence.Candidate.Correct, evidence.Candidate.Labeled, evidence.PValue, evidence.LikelihoodRatio);
        string path = Path.Combine(_options.ModelsDirectory, experiment.Model, LogFileName);
        try
        {
            lock (_pinned) File.AppendAllText(path, JsonSerializer.Serialize(ExperimentStatus.Describe(experiment)) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogWriteFailed(_logger, path, e.Message);
        }
    }

    /// <summary>The last decision recorded for each model pins its default again after a restart.</summary>
    private void RestorePins()
    {
        foreach (string model in _models.Names)
        {
            string path = Path.Combine(_options.ModelsDirectory, model, LogFileName);
            if (!File.Exists(path)) continue;
            string? last = File.ReadLines(path).LastOrDefault(line => !string.IsNullOrWhiteSpace(line));
            if (last is null) continue;
            try
            {
                using var document = JsonDocument.Parse(last);
                if (document.RootElement.TryGetProperty("decision", out var d) && d.TryGetProperty("served_version", out var v) && v.ValueKind == JsonValueKind.String)
                    _pinned[model] = v.GetString()!;
            }
            catch (JsonException e)
            {
                throw new ServingConfigurationException($"the experiment log '{path}' ends with a line that is not JSON ({e.Message}); repair or remove it.");
            }
        }
    }

    [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "experiment started on model {Model}: control {Control}, candidate {Candidate}, mode {Mode}, candidate {Percent}% of traffic")]
    private static partial void Started(ILogger logger, string model, string control, string candidate, string mode, double percent);

    [LoggerMessage(EventId = 141, Level = LogLevel.Warning,
        Message = "experiment on model {Model}: {Action}, now serving {Served}: {Reason}; control {ControlCorrect}/{ControlLabeled} right, candidate {CandidateCorrect}/{CandidateLabeled}, p {PValue}, likelihood ratio {LikelihoodRatio}")]
    private static partial void LogDecision(ILogger logger, string model, string action, string served, string reason,
        long controlCorrect, long controlLabeled, long candidateCorrect, long candidateLabeled, double pValue, double likelihoodRatio);

    [LoggerMessage(EventId = 142, Level = LogLevel.Information, Message = "shadow copy to model {Model} version {Version} failed: {Error}")]
    private static partial void ShadowFailed(ILogger logger, string model, string version, string error);

    [LoggerMessage(EventId = 143, Level = LogLevel.Error, Message = "could not append the experiment decision to {Path}: {Error}")]
    private static partial void LogWriteFailed(ILogger logger, string path, string error);
}
