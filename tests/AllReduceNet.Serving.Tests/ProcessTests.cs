using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AllReduceNet.Serving.Tests;

/// <summary>
/// Serve.dll as a real process on 127.0.0.1 (<see cref="ServeProcess"/>): graceful shutdown on SIGTERM, a hot load of a
/// new version under continuous load, and bad requests mixed into good ones. Kept to a few seconds each (CI has 2 cores).
/// </summary>
public sealed partial class ProcessTests : IDisposable
{
    private const string ApiKey = "process-test-key";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _repository = Path.Combine(Path.GetTempPath(), "arn-serve-process-" + Guid.NewGuid().ToString("N"));

    public ProcessTests() => ServerFixture.WriteCheckpoint(_repository, "fashion", 1, seed: 1);

    public void Dispose() => Directory.Delete(_repository, recursive: true);

    private static float[] Image(int seed)
    {
        var random = new Random(seed);
        var values = new float[784];
        for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble();
        return values;
    }

    private static string Floats(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static string InferJson(float[] row, string shape = "[1,784]", string datatype = "FP32") =>
        $"{{\"inputs\":[{{\"name\":\"input\",\"shape\":{shape},\"datatype\":\"{datatype}\",\"data\":[{Floats(row)}]}}]}}";

    private static StringContent Json(string body, string contentType = "application/json") => new(body, Encoding.UTF8, contentType);

    /// <summary>Status, served version and probabilities of one infer response.</summary>
    private static async Task<(HttpStatusCode Status, string? Version, float[]? Probabilities, string Text)> Infer(HttpClient client, string path, HttpContent content)
    {
        using var response = await client.PostAsync(path, content);
        string text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) return (response.StatusCode, null, null, text);
        using var body = JsonDocument.Parse(text);
        var probabilities = body.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        return (response.StatusCode, body.RootElement.GetProperty("model_version").GetString(), probabilities, text);
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"{what}, element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [GeneratedRegex("""allreducenet_serving_queue_depth\{[^}]*\} (\d+)""")]
    private static partial Regex QueueDepthLine();

    private static async Task WaitForQueueDepth(ServeProcess server, int depth)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            string metrics = await server.Client.GetStringAsync("/metrics");
            var match = QueueDepthLine().Match(metrics);
            if (match.Success && int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) >= depth) return;
            if (waited.Elapsed > Timeout) throw new TimeoutException($"the queue never held {depth} requests; /metrics:\n{metrics}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Sigterm_answers_every_request_in_flight_exits_0_and_then_refuses_connections()
    {
        // A 30 s batching delay keeps the requests queued until the signal; a closed queue runs them at once.
        await using var server = await ServeProcess.StartAsync(_repository, "--max-queue-delay-us", "30000000", "--max-batch", "64");
        const int InFlight = 6;
        var rows = Enumerable.Range(0, InFlight).Select(i => Image(100 + i)).ToArray();
        var requests = rows.Select(row => Infer(server.Client, "/v2/models/fashion/infer", Json(InferJson(row)))).ToArray();
        await WaitForQueueDepth(server, InFlight);

        var signalled = Stopwatch.StartNew();
        server.Terminate();
        var responses = await Task.WhenAll(requests).WaitAsync(Timeout);
        var answered = signalled.Elapsed;
        int exitCode = await server.WaitForExitAsync(Timeout);

        for (int i = 0; i < InFlight; i++)
        {
            Assert.True(responses[i].Status == HttpStatusCode.OK, $"request {i} in flight at SIGTERM got {(int)responses[i].Status}: {responses[i].Text}");
            AssertClose(ServerFixture.DirectProbabilities(1, rows[i], 1), responses[i].Probabilities!, $"request {i}");
        }
        Assert.True(answered < TimeSpan.FromSeconds(20), $"the queued requests were answered {answered.TotalSeconds:F1} s after SIGTERM: the delay was waited out");
        Assert.True(exitCode == 0, $"Serve.dll exited with {exitCode}:\n{server.Output}");
        using var socket = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(IPAddress.Loopback, server.Port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task Loading_a_new_version_under_load_fails_no_request_and_serves_the_new_version_after()
    {
        await using var server = await ServeProcess.StartAsync(_repository, "--api-key", ApiKey);
        var rows = Enumerable.Range(0, 8).Select(i => Image(200 + i)).ToArray();
        var expected = new Dictionary<string, float[][]>
        {
            ["1"] = rows.Select(row => ServerFixture.DirectProbabilities(1, row, 1)).ToArray(),
            ["2"] = rows.Select(row => ServerFixture.DirectProbabilities(2, row, 1)).ToArray(),
        };
        var outcomes = new ConcurrentQueue<(bool SentAfterLoad, int Row, HttpStatusCode Status, string? Version, float[]? Probabilities, string Text)>();
        int loaded = 0, sent = 0;
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                int row = Interlocked.Increment(ref sent) % rows.Length;
                bool after = Volatile.Read(ref loaded) == 1;
                try
                {
                    var (status, version, probabilities, text) = await Infer(server.Client, "/v2/models/fashion/infer", Json(InferJson(rows[row])));
                    outcomes.Enqueue((after, row, status, version, probabilities, text));
                }
                catch (HttpRequestException e) { outcomes.Enqueue((after, row, 0, null, null, e.Message)); }
            }
        })).ToArray();

        await WaitUntil(() => outcomes.Count >= 20, "20 answers before the load");
        ServerFixture.WriteCheckpoint(_repository, "fashion", 2, seed: 2);
        using (var load = new HttpRequestMessage(HttpMethod.Post, "/v2/repository/models/fashion/load"))
        {
            load.Headers.Authorization = new("Bearer", ApiKey);
            using var response = await server.Client.SendAsync(load);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"load answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        Volatile.Write(ref loaded, 1);
        int before = outcomes.Count;
        await WaitUntil(() => outcomes.Count(o => o.SentAfterLoad) >= 20, "20 answers after the load");
        await stop.CancelAsync();
        await Task.WhenAll(clients).WaitAsync(Timeout);

        var failed = outcomes.Where(o => o.Status != HttpStatusCode.OK).ToArray();
        if (failed.Length > 0)
            Assert.Fail($"{failed.Length} of {outcomes.Count} requests failed during the load, first: {(int)failed[0].Status} {failed[0].Text}");
        foreach (var o in outcomes)
        {
            Assert.True(o.Version is "1" or "2", $"answered by version {o.Version}");
            AssertClose(expected[o.Version!][o.Row], o.Probabilities!, $"row {o.Row} answered by version {o.Version}");
            if (o.SentAfterLoad) Assert.True(o.Version == "2", "a request sent after the load returned was answered by version 1");
        }
        Assert.Contains(outcomes, o => o.Version == "1");
        Assert.True(outcomes.Count > before, "no request ran after the load");
    }

    /// <summary>A bad request of one kind: what makes it bad, and the 4xx it must get.</summary>
    private sealed record BadRequest(string Kind, string Path, Func<HttpContent> Content, HttpStatusCode Expected);

    [Fact]
    public async Task Bad_requests_mixed_into_concurrent_load_get_4xx_and_every_good_one_its_answer()
    {
        await using var server = await ServeProcess.StartAsync(_repository);
        const string Infer1 = "/v2/models/fashion/infer";
        var row = Image(300);
        BadRequest[] kinds =
        [
            new("malformed JSON", Infer1, () => Json("{\"inputs\": [{\"name\": \"input\", "), HttpStatusCode.BadRequest),
            new("wrong shape", Infer1, () => Json(InferJson(row[..783], "[1,783]")), HttpStatusCode.BadRequest),
            new("too few numbers", Infer1, () => Json(InferJson(row[..10])), HttpStatusCode.BadRequest),
            new("NaN", Infer1, () => Json(InferJson(row).Replace("data\":[", "data\":[\"NaN\",", StringComparison.Ordinal)), HttpStatusCode.BadRequest),
            new("wrong datatype", Infer1, () => Json(InferJson(row, datatype: "INT32")), HttpStatusCode.BadRequest),
            new("unknown model", "/v2/models/no-such-model/infer", () => Json(InferJson(row)), HttpStatusCode.NotFound),
            new("not JSON", Infer1, () => Json(InferJson(row), "text/plain"), HttpStatusCode.UnsupportedMediaType),
        ];
        const int Requests = 210;   // every 10th bad: each bad kind three times
        var goodRows = Enumerable.Range(0, 16).Select(i => Image(400 + i)).ToArray();
        var expected = goodRows.Select(r => ServerFixture.DirectProbabilities(1, r, 1)).ToArray();
        int next = -1;
        var outcomes = new ConcurrentQueue<(int Index, HttpStatusCode Status, float[]? Probabilities, string Text)>();
        var clients = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int k = Interlocked.Increment(ref next); k < Requests; k = Interlocked.Increment(ref next))
            {
                var (path, content) = k % 10 == 9 ? (kinds[k / 10 % kinds.Length].Path, kinds[k / 10 % kinds.Length].Content()) : (Infer1, Json(InferJson(goodRows[k % goodRows.Length])));
                var (status, _, probabilities, text) = await Infer(server.Client, path, content);
                outcomes.Enqueue((k, status, probabilities, text));
            }
        })).ToArray();
        await Task.WhenAll(clients).WaitAsync(Timeout);

        Assert.Equal(Requests, outcomes.Count);
        foreach (var (k, status, probabilities, text) in outcomes.OrderBy(o => o.Index))
        {
            if (k % 10 == 9)
            {
                var kind = kinds[k / 10 % kinds.Length];
                Assert.True(status == kind.Expected, $"bad request {k} ({kind.Kind}) got {(int)status}, expected {(int)kind.Expected}: {text}");
                Assert.True(JsonDocument.Parse(text).RootElement.TryGetProperty("error", out _), $"bad request {k} ({kind.Kind}) has no 'error': {text}");
            }
            else
            {
                Assert.True(status == HttpStatusCode.OK, $"good request {k} got {(int)status}: {text}");
                AssertClose(expected[k % goodRows.Length], probabilities!, $"good request {k}");
            }
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > Timeout) throw new TimeoutException($"timed out waiting for {what}.");
            await Task.Delay(10);
        }
    }
}
