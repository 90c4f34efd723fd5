using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace AllReduceNet.Serving.AbTestBenchmarks;

/// <summary>
/// Real models over real HTTP: Serve's application on a loopback port, the model repository given, and per run an
/// experiment started through the management API, then Fashion-MNIST test images (seeded draws) sent with a seeded
/// user id each, every answer labeled with the image's true class through the feedback endpoint, until the
/// experiment decides. Reports each version's accuracy on the whole test set and the labeled requests to a decision.
/// </summary>
internal static class HttpRuns
{
    private const string Key = "abtest-bench";

    public static async Task<int> RunAsync(Dictionary<string, string> options)
    {
        string models = options["models"], control = options.GetValueOrDefault("control", "1"), candidate = options.GetValueOrDefault("candidate", "2");
        string data = options.GetValueOrDefault("data", "/usr/share/datasets/fashion-mnist");
        int runs = (int)Program.Number(options, "runs", 10), minSamples = (int)Program.Number(options, "min-samples", ExperimentSettings.DefaultMinSamples);
        int maxRequests = (int)Program.Number(options, "max-requests", 30_000), seed = (int)Program.Number(options, "seed", 1);
        double weight = Program.Number(options, "weight", 50);
        var (images, labels) = ReadTestSet(data);
        string[] rows = images.Select(image => "[" + string.Join(",", image) + "]").ToArray();

        int port = FreePort();
        var app = ServingApp.Build(["--models", models, "--version-policy", "all", "--api-key", Key, "--urls", $"http://127.0.0.1:{port}",
            "--log-format", "text", "--Logging:LogLevel:Default", "Warning", "--max-body-bytes", "100000000"]);
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("X-Api-Key", Key);
        try
        {
            foreach (string version in new[] { control, candidate })
                Console.WriteLine($"version {version}: accuracy {await TestAccuracy(client, version, rows, labels):P2} on the {labels.Length} Fashion-MNIST test images");
            var toDecision = new List<long>();
            var actions = new List<string>();
            var clock = Stopwatch.StartNew();
            for (int run = 0; run < runs; run++)
            {
                var random = new Random(seed * 1_000_003 + run);
                using (var start = await client.PostAsync($"/v2/repository/models/fashion/experiment", Json(
                    $"{{\"control\":\"{control}\",\"candidate\":\"{candidate}\",\"weights\":{{\"control\":{100 - weight},\"candidate\":{weight}}},\"min_samples\":{minSamples}}}")))
                    if (start.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"start: {start.StatusCode} {await start.Content.ReadAsStringAsync()}");
                JsonElement status = default;
                for (int i = 1; i <= maxRequests; i++)
                {
                    int index = random.Next(labels.Length);
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/fashion/infer")
                    {
                        Content = Json($"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":{rows[index]}}}]}}"),
                    };
                    request.Headers.Add("X-User-Id", $"user-{random.Next(1_000_000)}");
                    using var answer = await client.SendAsync(request);
                    answer.EnsureSuccessStatusCode();
                    string id = answer.Headers.GetValues("X-Request-Id").Single();
                    bool answeredAfterDecision;
                    using (var feedback = await client.PostAsync("/v2/models/fashion/experiment/feedback", Json($"{{\"request_id\":\"{id}\",\"label\":{labels[index]}}}")))
                    {
                        // 404: the answer came after the decision, from the pinned version, so it is no experiment's.
                        answeredAfterDecision = feedback.StatusCode == HttpStatusCode.NotFound;
                        if (!answeredAfterDecision) feedback.EnsureSuccessStatusCode();
                    }
                    if (i % 25 != 0 && i != maxRequests && !answeredAfterDecision) continue;
                    status = JsonDocument.Parse(await client.GetStringAsync("/v2/repository/models/fashion/experiment")).RootElement.Clone();
                    if (status.GetProperty("state").GetString() != "running") break;
                }
                if (status.GetProperty("state").GetString() == "running")
                {
                    (await client.PostAsync("/v2/repository/models/fashion/experiment/stop", null)).Dispose();
                    actions.Add("undecided");
                    Console.WriteLine($"run {run}: undecided after {maxRequests} labeled requests");
                    continue;
                }
                var decision = status.GetProperty("decision");
                var variants = status.GetProperty("variants");
                // The counts in the status are those the decision was taken on (the experiment takes no data after it).
                long labeled = variants.GetProperty("control").GetProperty("labeled").GetInt64() + variants.GetProperty("candidate").GetProperty("labeled").GetInt64();
                actions.Add(decision.GetProperty("action").GetString()!);
                if (actions[^1] == "promote") toDecision.Add(labeled);
                Console.WriteLine($"run {run}: {actions[^1]} after {labeled} labeled requests; control {Accuracy(variants, "control")}, candidate {Accuracy(variants, "candidate")}, " +
                    $"p {status.GetProperty("test").GetProperty("p_value").GetDouble():G3}; {decision.GetProperty("reason").GetString()}");
            }
            Console.WriteLine($"http: {runs} runs, weights {100 - weight}/{weight}, min samples {minSamples}: promoted {actions.Count(a => a == "promote")}, " +
                $"rolled back {actions.Count(a => a == "rollback")}, undecided {actions.Count(a => a == "undecided")}; labeled requests to promotion: " +
                $"median {Program.Percentile(toDecision, 0.5)}, p90 {Program.Percentile(toDecision, 0.9)}; {clock.Elapsed.TotalSeconds:F0} s");
            return 0;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static string Accuracy(JsonElement variants, string variant)
    {
        var v = variants.GetProperty(variant);
        return $"{v.GetProperty("correct").GetInt64()}/{v.GetProperty("labeled").GetInt64()}";
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    /// <summary>The accuracy of one version on the whole test set, asked by its explicit version (never rerouted).</summary>
    private static async Task<double> TestAccuracy(HttpClient client, string version, string[] rows, byte[] labels)
    {
        const int batch = 500;
        int correct = 0;
        for (int start = 0; start < rows.Length; start += batch)
        {
            int n = Math.Min(batch, rows.Length - start);
            string body = $"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[{n},784],\"datatype\":\"FP32\",\"data\":[{string.Join(",", rows.AsSpan(start, n).ToArray())}]}}],\"outputs\":[{{\"name\":\"class\"}}]}}";
            using var response = await client.PostAsync($"/v2/models/fashion/versions/{version}/infer", Json(body));
            response.EnsureSuccessStatusCode();
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            int i = 0;
            foreach (var c in document.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray())
                if (c.GetInt64() == labels[start + i++]) correct++;
        }
        return (double)correct / rows.Length;
    }

    /// <summary>The test images (raw bytes, as a client sends them: the server applies the model's preprocess.json) and labels.</summary>
    private static (byte[][] Images, byte[] Labels) ReadTestSet(string directory)
    {
        byte[] images = Gunzip(Path.Combine(directory, "t10k-images-idx3-ubyte.gz")), labels = Gunzip(Path.Combine(directory, "t10k-labels-idx1-ubyte.gz"));
        int count = BigEndian(labels, 4);
        if (BigEndian(images, 0) != 2051 || BigEndian(labels, 0) != 2049 || BigEndian(images, 4) != count)
            throw new InvalidDataException($"the IDX files in '{directory}' are not Fashion-MNIST's test images and labels.");
        return (Enumerable.Range(0, count).Select(i => images.AsSpan(16 + i * 784, 784).ToArray()).ToArray(), labels.AsSpan(8, count).ToArray());
    }

    private static byte[] Gunzip(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return memory.ToArray();
    }

    private static int BigEndian(byte[] bytes, int offset) => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
