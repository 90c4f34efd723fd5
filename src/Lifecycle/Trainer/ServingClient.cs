using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>The trainer's calls to Serve.dll: the experiment status, the feedback export, loading a version and
/// starting an A/B experiment (docs/rollout.md, docs/drift.md). Each call has the --request-timeout.</summary>
internal sealed class ServingClient(TrainerOptions options) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = options.Server, Timeout = options.RequestTimeout };
    private string ModelPath => $"v2/repository/models/{Uri.EscapeDataString(options.Model)}";

    /// <summary>The model's latest experiment: (running, the version its decision pinned), or null when it never had one.</summary>
    public async Task<(bool Running, string? Served)?> ExperimentAsync(CancellationToken cancel)
    {
        using var response = await SendAsync(HttpMethod.Get, $"{ModelPath}/experiment", null, cancel);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        using var body = JsonDocument.Parse(await Expect(response, "reading the experiment status", cancel));
        var root = body.RootElement;
        bool running = root.TryGetProperty("state", out var state) && state.GetString() == "running";
        string? served = root.TryGetProperty("decision", out var decision) && decision.ValueKind == JsonValueKind.Object
            && decision.TryGetProperty("served_version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return (running, served);
    }

    /// <summary>Saves the labeled feedback rows to <paramref name="path"/>; returns how many rows.</summary>
    public async Task<int> ExportFeedbackAsync(string path, CancellationToken cancel)
    {
        using var response = await SendAsync(HttpMethod.Get, $"v2/models/{Uri.EscapeDataString(options.Model)}/feedback/export?max_rows={options.MaxFeedbackRows}", null, cancel);
        if (!response.IsSuccessStatusCode) await Expect(response, "exporting the labeled feedback", cancel);
        await using (var file = File.Create(path))
            await response.Content.CopyToAsync(file, cancel);
        return response.Headers.TryGetValues("X-Rows", out var rows) && int.TryParse(rows.First(), out int count) ? count
            : throw new RetrainFailure($"the feedback export from {options.Server} did not say how many rows it holds (no X-Rows header); is the server a Serve.dll with the export endpoint?");
    }

    /// <summary>Asks the server to (re)load the model from its repository, so that a new version is served.</summary>
    public async Task LoadAsync(CancellationToken cancel)
    {
        using var response = await SendAsync(HttpMethod.Post, $"{ModelPath}/load", null, cancel);
        await Expect(response, $"loading model '{options.Model}'", cancel);
    }

    /// <summary>Starts the A/B experiment control against candidate.</summary>
    public async Task StartExperimentAsync(string control, string candidate, CancellationToken cancel)
    {
        var body = new Dictionary<string, object>
        {
            ["control"] = control,
            ["candidate"] = candidate,
            ["weights"] = new Dictionary<string, int> { ["control"] = 100 - options.CandidateWeight, ["candidate"] = options.CandidateWeight },
            ["min_samples"] = options.ExperimentMinSamples,
        };
        using var response = await SendAsync(HttpMethod.Post, $"{ModelPath}/experiment", JsonContent.Create(body), cancel);
        await Expect(response, $"starting the experiment {control} against {candidate}", cancel);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        KeyAuthorization.Attach(request, options.ServerApiKey);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        }
        catch (HttpRequestException e)
        {
            throw new RetrainFailure($"the server {options.Server} did not answer {method} /{path}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new RetrainFailure($"the server {options.Server} did not answer {method} /{path} within --request-timeout {options.RequestTimeout.TotalSeconds:0.#} s.");
        }
    }

    private static async Task<string> Expect(HttpResponseMessage response, string what, CancellationToken cancel)
    {
        string text = await response.Content.ReadAsStringAsync(cancel);
        if (!response.IsSuccessStatusCode)
            throw new RetrainFailure($"{what} failed: the server answered {(int)response.StatusCode} {text.Trim()}");
        return text;
    }

    public void Dispose() => _http.Dispose();
}
