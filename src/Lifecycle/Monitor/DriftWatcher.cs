using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace AllReduceNet.Lifecycle.Monitor;

/// <summary>
/// Polls Serve.dll's <c>GET /drift?model=NAME</c> every --interval and decides drift with hysteresis: a version whose
/// latest --consecutive-windows windows all drifted, or (with --min-accuracy) whose accuracy over its latest labeled
/// rows fell below the threshold once --min-labels are in. Then it POSTs <c>/retrain</c> with reason "drift" to the
/// trainer; after an accepted request it waits --cooldown before asking again. A refused request (409: a job or an
/// experiment is running) is retried at the next poll. Every call has the --request-timeout.
/// </summary>
internal sealed class DriftWatcher(MonitorOptions options, ILogger<DriftWatcher> logger) : BackgroundService, IDisposable
{
    private readonly HttpClient _http = new() { Timeout = options.RequestTimeout };
    private readonly object _gate = new();
    private readonly Dictionary<string, VersionWatch> _versions = new(StringComparer.Ordinal);
    private long _polls, _triggers;
    private DateTimeOffset? _lastPoll, _lastSuccess, _cooldownUntil;
    private string? _lastError, _state = "starting";
    private object? _lastTrigger;

    /// <summary>Why the monitor is not ready (no successful poll lately), or null.</summary>
    public string? NotReady()
    {
        lock (_gate)
        {
            var limit = TimeSpan.FromTicks(Math.Max(options.Interval.Ticks * 3, TimeSpan.FromSeconds(30).Ticks));
            if (_lastSuccess is null) return $"no successful poll of {options.Server}drift yet{(_lastError is null ? "" : $": {_lastError}")}";
            return DateTimeOffset.UtcNow - _lastSuccess > limit ? $"the last successful poll was at {_lastSuccess:O}: {_lastError}" : null;
        }
    }

    /// <summary>GET /state.</summary>
    public object Describe()
    {
        lock (_gate)
            return new
            {
                model = options.Model,
                server = options.Server,
                trainer = options.Trainer,
                state = _state,
                polls = _polls,
                last_poll = _lastPoll,
                last_success = _lastSuccess,
                last_error = _lastError,
                rule = new
                {
                    interval_seconds = options.Interval.TotalSeconds,
                    consecutive_windows = options.ConsecutiveWindows,
                    min_accuracy = options.MinAccuracy,
                    min_labels = options.MinLabels,
                    cooldown_seconds = options.Cooldown.TotalSeconds,
                },
                cooldown_until = _cooldownUntil,
                triggers = _triggers,
                last_trigger = _lastTrigger,
                versions = _versions.Values.OrderBy(v => v.Version, StringComparer.Ordinal).Select(v => v.Describe()).ToArray(),
            };
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("watching model '{Model}' on {Server} every {Interval}; retrain through {Trainer} after {K} drifted windows in a row{Accuracy}",
            options.Model, options.Server, options.Interval, options.Trainer, options.ConsecutiveWindows,
            options.MinAccuracy is { } a ? $" or accuracy below {a}" : "");
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await PollOnceAsync(stoppingToken);
                await Task.Delay(options.Interval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One poll, and a retrain request when it decides drift (public for tests).</summary>
    public async Task PollOnceAsync(CancellationToken cancel)
    {
        string? reason;
        try
        {
            var url = new Uri(options.Server, $"drift?model={Uri.EscapeDataString(options.Model)}");
            using var response = await _http.GetAsync(url, cancel);
            string text = await response.Content.ReadAsStringAsync(cancel);
            if (!response.IsSuccessStatusCode) throw new HttpRequestException($"GET {url} answered {(int)response.StatusCode} {text.Trim()}");
            using var document = JsonDocument.Parse(text);
            reason = Update(document.RootElement);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !cancel.IsCancellationRequested)
        {
            string error = e is TaskCanceledException ? $"{options.Server} did not answer within --request-timeout {options.RequestTimeout.TotalSeconds:0.#} s" : e.Message;
            lock (_gate) (_lastError, _lastPoll, _state) = (error, DateTimeOffset.UtcNow, "error");
            _polls++;
            logger.LogWarning("polling {Server} failed: {Error}", options.Server, error);
            return;
        }
        if (reason is not null) await TriggerAsync(reason, cancel);
    }

    /// <summary>Takes in the drift answer; returns why to retrain now, or null.</summary>
    private string? Update(JsonElement root)
    {
        lock (_gate)
        {
            _polls++;
            _lastPoll = _lastSuccess = DateTimeOffset.UtcNow;
            _lastError = null;
            string? reason = null;
            foreach (var entry in root.GetProperty("models").EnumerateArray())
            {
                string version = entry.GetProperty("version").GetString()!;
                if (!_versions.TryGetValue(version, out var watch)) _versions[version] = watch = new VersionWatch(version);
                watch.Available = entry.TryGetProperty("available", out var available) && available.ValueKind == JsonValueKind.True;
                if (entry.TryGetProperty("history", out var history) && history.ValueKind == JsonValueKind.Array)
                    foreach (var window in history.EnumerateArray())
                        watch.Window(window.GetProperty("end_row").GetInt64(), window.TryGetProperty("drift", out var d) && d.ValueKind == JsonValueKind.True);
                if (entry.TryGetProperty("features", out var features) && features.ValueKind == JsonValueKind.Object)
                    watch.LastSummary = string.Create(CultureInfo.InvariantCulture,
                        $"{features.GetProperty("drifted").GetInt32()} of {features.GetProperty("count").GetInt32()} features drifted ({features.GetProperty("test").GetString()})");
                if (entry.TryGetProperty("accuracy", out var accuracy) && accuracy.ValueKind == JsonValueKind.Object)
                {
                    watch.Labeled = accuracy.TryGetProperty("labeled", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetInt64() : 0;
                    watch.Accuracy = accuracy.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
                }
                if (watch.Consecutive >= options.ConsecutiveWindows)
                    reason ??= $"version {version}: {watch.Consecutive} drifted windows in a row (latest: {watch.LastSummary ?? "no feature summary"})";
                else if (options.MinAccuracy is { } floor && watch.Labeled >= options.MinLabels && watch.Accuracy < floor)
                    reason ??= string.Create(CultureInfo.InvariantCulture, $"version {version}: accuracy {watch.Accuracy:F4} over its latest {watch.Labeled} labeled rows is below --min-accuracy {floor}");
            }
            bool cooling = _cooldownUntil is { } until && DateTimeOffset.UtcNow < until;
            _state = reason is null ? (cooling ? "cooldown" : "watching") : cooling ? "cooldown" : "drift";
            return cooling ? null : reason;
        }
    }

    private async Task TriggerAsync(string reason, CancellationToken cancel)
    {
        int status;
        string answer;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(options.Trainer, "retrain"))
            {
                Content = JsonContent.Create(new Dictionary<string, string> { ["reason"] = "drift", ["detail"] = reason }),
            };
            KeyAuthorization.Attach(request, options.TrainerApiKey);
            using var response = await _http.SendAsync(request, cancel);
            status = (int)response.StatusCode;
            answer = await response.Content.ReadAsStringAsync(cancel);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancel.IsCancellationRequested)
        {
            (status, answer) = (0, e is TaskCanceledException ? $"the trainer did not answer within --request-timeout {options.RequestTimeout.TotalSeconds:0.#} s" : e.Message);
        }
        string? jobId = null;
        if (status == StatusCodes.Status202Accepted)
            try { using var job = JsonDocument.Parse(answer); jobId = job.RootElement.GetProperty("id").GetString(); }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { }
        lock (_gate)
        {
            _lastTrigger = new { at = DateTimeOffset.UtcNow, reason, status, accepted = status == StatusCodes.Status202Accepted, job_id = jobId, answer = status == StatusCodes.Status202Accepted ? null : answer.Trim() };
            if (status == StatusCodes.Status202Accepted)
            {
                _triggers++;
                _cooldownUntil = DateTimeOffset.UtcNow + options.Cooldown;
                _state = "cooldown";
                foreach (var watch in _versions.Values) watch.Reset();
            }
        }
        if (status == StatusCodes.Status202Accepted) logger.LogWarning("drift on model '{Model}': {Reason}; retrain job {Job} started", options.Model, reason, jobId);
        else logger.LogWarning("drift on model '{Model}': {Reason}; the trainer refused ({Status}): {Answer}", options.Model, reason, status, answer.Trim());
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
