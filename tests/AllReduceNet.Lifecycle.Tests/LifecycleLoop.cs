using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using AllReduceNet.Lifecycle.Monitor;
using AllReduceNet.Lifecycle.Trainer;
using AllReduceNet.Serving;
using AllReduceNet.Serving.DriftBenchmarks;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>The figures of one run of the loop (accuracies on the evaluation images, which no version trained on).</summary>
internal sealed record LifecycleResult(double V1Clean, double V1Shifted, double V2Shifted, double V2Clean, int ShiftedRowsToTrigger,
    double SecondsShiftToTrigger, double SecondsTriggerToJobEnd, double SecondsJobEndToDecision, double SecondsShiftToPromotion,
    string JobJson, string ExperimentJson, string MonitorJson, long ExperimentLabeled)
{
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"v1 clean {V1Clean:P2}, v1 shifted {V1Shifted:P2}, v2 shifted {V2Shifted:P2}, v2 clean {V2Clean:P2}; shifted rows to trigger {ShiftedRowsToTrigger}; " +
        $"shift->trigger {SecondsShiftToTrigger:F1} s, trigger->v2 registered {SecondsTriggerToJobEnd:F1} s, ->decision {SecondsJobEndToDecision:F1} s (experiment labels {ExperimentLabeled}), shift->promotion {SecondsShiftToPromotion:F1} s");
}

/// <summary>
/// Issue 14's loop, end to end over real HTTP on loopback: Train.dll trains v1 (child process); Serve.dll, the trainer
/// and the monitor run as web applications in this process; a seeded stream of Fashion-MNIST requests turns brighter
/// and flatter part-way (<see cref="Shifts.BrightnessContrast"/>), every answer's true label is fed back; the monitor
/// sees the drift and asks the trainer, which exports the feedback, runs Train.dll, registers v2 and starts the A/B
/// experiment; the stream goes on until the experiment decides; then v1 and v2 are scored on held-out images.
/// </summary>
internal sealed class LifecycleLoop(LifecycleScale scale, string work, Action<string> log)
{
    public const string Key = "lifecycle-loop-key";
    private readonly Random _random = new(14);
    private int _requests;

    public async Task<LifecycleResult> RunAsync()
    {
        FashionData.RequireInstalled();
        using var deadline = new CancellationTokenSource(scale.Deadline);
        var cancel = deadline.Token;
        string data = FashionData.Directory;
        if (scale.TrainSamples is not null)
        {
            data = Path.Combine(work, "data");
            FashionData.WriteSubset(data, scale.TrainSamples.Value, scale.ValidationSamples ?? 10_000);
        }
        string models = Path.Combine(work, "models");
        string trainArgs(int epochs, int seed) => $"--data {data} --ranks 1 --epochs {epochs} --device cpu --quiet --seed {seed}";
        var clock = Stopwatch.StartNew();
        log(await TrainProcess.RunAsync([.. trainArgs(scale.Epochs, 1).Split(' '), "--no-checkpoint", "--export-model", Path.Combine(models, "fashion", "1")], scale.Deadline));
        log($"v1 trained in {clock.Elapsed.TotalSeconds:F1} s");
        var (pool, poolLabels) = FashionData.TestImages(scale.StreamFirst, scale.StreamCount);
        var (evaluation, evaluationLabels) = FashionData.TestImages(scale.StreamFirst + scale.StreamCount, scale.EvaluationCount);

        await using var serve = await LoopbackHost.StartAsync(ServingApp.Build([.. LoopbackHost.Loopback, "--models", models, "--version-policy", "all",
            "--api-key", Key, "--device", "cpu", "--drift-window", $"{scale.DriftWindow}", "--drift-step", $"{scale.DriftStep}", "--log-format", "text"]));
        await using var trainer = await LoopbackHost.StartAsync(TrainerApp.Build([.. LoopbackHost.Loopback, "--server", serve.Url.ToString(), "--models", models,
            "--model", "fashion", "--api-key", Key, "--train-args", trainArgs(scale.RetrainEpochs, 2), "--extra-weight", $"{scale.ExtraWeight}",
            "--work", Path.Combine(work, "lifecycle"), "--candidate-weight", "50", "--experiment-min-samples", $"{scale.ExperimentMinSamples}",
            "--job-timeout", $"{(int)scale.Deadline.TotalSeconds}s"]));
        await using var monitor = await LoopbackHost.StartAsync(MonitorApp.Build([.. LoopbackHost.Loopback, "--server", serve.Url.ToString(),
            "--trainer", trainer.Url.ToString(), "--trainer-api-key", Key, "--model", "fashion", "--interval", "300ms",
            "--consecutive-windows", $"{scale.ConsecutiveWindows}", "--cooldown", "1h"]));

        // Before the shift: clean requests.
        for (int sent = 0; sent < scale.CleanRows; sent += scale.BatchRows)
            await StreamAsync(serve.Client, shifted: false, cancel);
        log($"{scale.CleanRows} clean rows streamed");

        // The shift: until the monitor has asked for a retrain and the job has ended.
        var sinceShift = Stopwatch.StartNew();
        int shiftedRows = 0, rowsToTrigger = -1;
        double triggerSeconds = 0, jobEndSeconds;
        JsonElement job;
        while (true)
        {
            await StreamAsync(serve.Client, shifted: true, cancel);
            shiftedRows += scale.BatchRows;
            if (rowsToTrigger < 0)
            {
                using var state = await GetJsonAsync(monitor.Client, "state", cancel);
                if (state.RootElement.GetProperty("triggers").GetInt64() > 0)
                {
                    (rowsToTrigger, triggerSeconds) = (shiftedRows, sinceShift.Elapsed.TotalSeconds);
                    log($"monitor asked for a retrain after {shiftedRows} shifted rows ({triggerSeconds:F1} s)");
                }
                continue;
            }
            using var jobs = await GetJsonAsync(trainer.Client, "jobs", cancel);
            var latest = jobs.RootElement.GetProperty("jobs")[0];
            if (latest.GetProperty("status").GetString() != "running")
            {
                job = latest.Clone();
                jobEndSeconds = sinceShift.Elapsed.TotalSeconds;
                break;
            }
            await Task.Delay(150, cancel); // leave the cores to the training job
        }
        log($"retrain job ended after {jobEndSeconds:F1} s: {job}");
        if (job.GetProperty("status").GetString() != "succeeded")
            throw new InvalidOperationException($"the retrain job failed: {job}\nlog:\n{RetrainRun.Tail(job.GetProperty("log").GetString()!)}");

        // The A/B experiment v1 against v2, on the shifted stream, until it decides.
        JsonElement experiment;
        while (true)
        {
            for (int i = 0; i < 5; i++) await StreamAsync(serve.Client, shifted: true, cancel);
            using var status = await GetJsonAsync(serve.Client, "v2/repository/models/fashion/experiment", cancel, Key);
            if (status.RootElement.GetProperty("state").GetString() != "running")
            {
                experiment = status.RootElement.Clone();
                break;
            }
        }
        double decisionSeconds = sinceShift.Elapsed.TotalSeconds;
        log($"experiment ended after {decisionSeconds:F1} s: {experiment}");
        long labeled = experiment.GetProperty("variants").GetProperty("control").GetProperty("labeled").GetInt64()
            + experiment.GetProperty("variants").GetProperty("candidate").GetProperty("labeled").GetInt64();

        // The comparison, on images no version trained on, through each version's own route.
        double v1Clean = await ScoreAsync(serve.Client, "1", evaluation, evaluationLabels, shifted: false, cancel);
        double v1Shifted = await ScoreAsync(serve.Client, "1", evaluation, evaluationLabels, shifted: true, cancel);
        double v2Shifted = await ScoreAsync(serve.Client, "2", evaluation, evaluationLabels, shifted: true, cancel);
        double v2Clean = await ScoreAsync(serve.Client, "2", evaluation, evaluationLabels, shifted: false, cancel);
        using var finalState = await GetJsonAsync(monitor.Client, "state", cancel);
        var result = new LifecycleResult(v1Clean, v1Shifted, v2Shifted, v2Clean, rowsToTrigger, triggerSeconds, jobEndSeconds - triggerSeconds,
            decisionSeconds - jobEndSeconds, decisionSeconds, job.ToString(), experiment.ToString(), finalState.RootElement.ToString(), labeled);
        log(result.Describe());
        return result;

        Task StreamAsync(HttpClient client, bool shifted, CancellationToken token)
        {
            var rows = new float[scale.BatchRows][];
            var labels = new int[scale.BatchRows];
            for (int r = 0; r < rows.Length; r++)
            {
                int i = _random.Next(pool.Length);
                rows[r] = shifted ? Shifts.BrightnessContrast(pool[i], LifecycleScale.Contrast, LifecycleScale.Brightness) : pool[i];
                labels[r] = poolLabels[i];
            }
            return InferAndLabelAsync(client, "v2/models/fashion/infer", rows, labels, token);
        }
    }

    /// <summary>Sends one request and its labels as feedback; returns the version that answered and how many rows it got right.</summary>
    private async Task<(string Version, int Correct)> InferAndLabelAsync(HttpClient client, string path, float[][] rows, int[] labels, CancellationToken cancel, bool feedback = true)
    {
        string id = $"loop-{Interlocked.Increment(ref _requests)}";
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = JsonContent.Create(new
            {
                inputs = new[] { new { name = "input", shape = new[] { rows.Length, FashionData.Pixels }, datatype = "FP32", data = rows.SelectMany(r => r).ToArray() } },
                outputs = new[] { new { name = "class" } },
            }),
        };
        request.Headers.Add("X-Request-Id", id);
        using var response = await client.SendAsync(request, cancel);
        string text = await response.Content.ReadAsStringAsync(cancel);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {text}");
        using var answer = JsonDocument.Parse(text);
        var classes = answer.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(c => c.GetInt32()).ToArray();
        int correct = classes.Where((c, i) => c == labels[i]).Count();
        if (feedback)
        {
            using var labeled = await client.PostAsJsonAsync("v2/models/fashion/feedback", new { id, labels }, cancel);
            if (!labeled.IsSuccessStatusCode) throw new InvalidOperationException($"feedback for {id} answered {(int)labeled.StatusCode}: {await labeled.Content.ReadAsStringAsync(cancel)}");
        }
        return (answer.RootElement.GetProperty("model_version").GetString()!, correct);
    }

    private async Task<double> ScoreAsync(HttpClient client, string version, float[][] images, int[] labels, bool shifted, CancellationToken cancel)
    {
        int correct = 0;
        for (int first = 0; first < images.Length; first += 100)
        {
            int count = Math.Min(100, images.Length - first);
            var rows = images.Skip(first).Take(count).Select(i => shifted ? Shifts.BrightnessContrast(i, LifecycleScale.Contrast, LifecycleScale.Brightness) : i).ToArray();
            var (answered, right) = await InferAndLabelAsync(client, $"v2/models/fashion/versions/{version}/infer", rows, labels[first..(first + count)], cancel, feedback: false);
            if (answered != version) throw new InvalidOperationException($"version {answered} answered a request for version {version}.");
            correct += right;
        }
        return (double)correct / images.Length;
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient client, string path, CancellationToken cancel, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null) request.Headers.Add("X-Api-Key", key);
        using var response = await client.SendAsync(request, cancel);
        string text = await response.Content.ReadAsStringAsync(cancel);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text);
    }
}
