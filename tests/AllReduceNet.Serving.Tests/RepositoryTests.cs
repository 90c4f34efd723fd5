using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace AllReduceNet.Serving.Tests;

/// <summary>The repository extension: index, hot load and unload, the version policy and the API key.</summary>
public sealed class RepositoryTests
{
    private const string Key = "test-key";

    private static async Task<ServerFixture> Start(params string[] args)
    {
        var server = new ServerFixture(args);
        await server.InitializeAsync();
        return server;
    }

    private static StringContent InferBody(int seed)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, 784).Select(_ => ((float)random.NextDouble()).ToString("R", CultureInfo.InvariantCulture));
        return new($"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":[{string.Join(",", values)}]}}]}}",
            Encoding.UTF8, "application/json");
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Manage(HttpClient client, HttpMethod method, string path, string? key = Key, bool bearer = true)
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            if (bearer) request.Headers.Authorization = new("Bearer", key);
            else request.Headers.Add("X-Api-Key", key);
        }
        using var response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<string> DefaultVersion(HttpClient client)
    {
        using var response = await client.PostAsync("/v2/models/fashion/infer", InferBody(1));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("model_version").GetString()!;
    }

    [Fact]
    public async Task Default_policy_serves_the_latest_version_and_the_index_lists_every_version()
    {
        // The fixture passes --version-policy all for the other tests, so the default is restated here.
        Assert.Equal("latest:1", VersionPolicy.Default.Text);
        var server = await Start("--version-policy", "latest:1", "--api-key", Key);
        try
        {
            Assert.Equal("2", await DefaultVersion(server.Client));
            using (var old = await server.Client.PostAsync("/v2/models/fashion/versions/1/infer", InferBody(1)))
                Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
            foreach (var method in new[] { HttpMethod.Post, HttpMethod.Get })
            {
                var (status, index) = await Manage(server.Client, method, "/v2/repository/index");
                Assert.Equal(HttpStatusCode.OK, status);
                var rows = index.EnumerateArray().Select(e => (e.GetProperty("name").GetString(), e.GetProperty("version").GetString(),
                    e.GetProperty("state").GetString())).ToArray();
                Assert.Equal([("fashion", "1", "UNAVAILABLE"), ("fashion", "2", "READY"), ("other", "3", "READY")], rows);
                Assert.Contains("latest:1", index[0].GetProperty("reason").GetString());
            }
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Specific_policy_serves_the_named_versions()
    {
        var server = await Start("--version-policy", "specific:1");
        try { Assert.Equal("1", await DefaultVersion(server.Client)); }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public void Bad_policy_is_a_configuration_error()
    {
        foreach (string policy in new[] { "latest:0", "newest", "specific:", "specific:a" })
            Assert.Throws<ServingConfigurationException>(() => VersionPolicy.Parse(policy));
    }

    [Fact]
    public async Task Load_of_a_new_version_makes_it_the_default_while_requests_keep_succeeding()
    {
        var server = await Start("--version-policy", "latest:1", "--api-key", Key, "--max-queue-delay-us", "200");
        try
        {
            int failures = 0, succeeded = 0;
            using var stop = new CancellationTokenSource();
            var clients = Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var response = await server.Client.PostAsync("/v2/models/fashion/infer", InferBody(t));
                    if (response.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref succeeded);
                    else Interlocked.Increment(ref failures);
                }
            })).ToArray();
            await Task.Delay(100);
            server.WriteModel("fashion", 7, seed: 7);
            var (status, body) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/models/fashion/load");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(["7"], body.GetProperty("versions").EnumerateArray().Select(v => v.GetString()!).ToArray());
            await Task.Delay(100);
            stop.Cancel();
            await Task.WhenAll(clients);
            Assert.Equal(0, failures);
            Assert.True(succeeded > 0);
            Assert.Equal("7", await DefaultVersion(server.Client));

            // The new version answers with its own parameters.
            var input = new float[784];
            using var response = await server.Client.PostAsync("/v2/models/fashion/infer", new StringContent(
                $"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":[{string.Join(",", input)}]}}]}}", Encoding.UTF8, "application/json"));
            using var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var actual = result.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(ServerFixture.DirectProbabilities(7, input, 1), actual);
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Unload_answers_404_naming_the_model_and_load_brings_it_back()
    {
        var server = await Start("--api-key", Key);
        try
        {
            var (status, _) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/models/fashion/unload", bearer: false);
            Assert.Equal(HttpStatusCode.OK, status);
            using (var response = await server.Client.PostAsync("/v2/models/fashion/infer", InferBody(1)))
            {
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                string text = await response.Content.ReadAsStringAsync();
                Assert.Contains("'fashion'", text);
                Assert.Contains("unloaded", text);
            }
            var (_, index) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/index");
            Assert.All(index.EnumerateArray().Where(e => e.GetProperty("name").GetString() == "fashion"),
                e => Assert.Equal(("UNAVAILABLE", "unloaded"), (e.GetProperty("state").GetString(), e.GetProperty("reason").GetString())));
            (status, _) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/models/fashion/unload");
            Assert.Equal(HttpStatusCode.NotFound, status);
            (status, _) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/models/nope/load");
            Assert.Equal(HttpStatusCode.NotFound, status);
            (status, _) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/models/fashion/load");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("2", await DefaultVersion(server.Client));
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Management_needs_the_key_and_is_closed_without_one()
    {
        var server = await Start("--api-key", Key);
        try
        {
            foreach (string? key in new[] { null, "wrong" })
            {
                var (status, body) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/models/fashion/unload", key);
                Assert.Equal(HttpStatusCode.Unauthorized, status);
                Assert.False(string.IsNullOrEmpty(body.GetProperty("error").GetString()));
            }
            Assert.Equal("2", await DefaultVersion(server.Client)); // nothing was unloaded; inference needs no key
        }
        finally { await server.DisposeAsync(); }

        server = await Start();
        try
        {
            var (status, body) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/index");
            Assert.Equal(HttpStatusCode.Forbidden, status);
            Assert.Contains("--api-key", body.GetProperty("error").GetString());
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Preprocess_json_beside_the_checkpoint_is_applied_and_shown_in_metadata()
    {
        var server = await Start("--api-key", Key);
        try
        {
            server.WriteModel("fashion", 5, seed: 5);
            var preprocess = new AllReduceNet.Training.Checkpoints.Preprocessing(1 / 255.0, 0.2860, 0.3530);
            preprocess.Write(Path.Combine(server.Directory, "fashion", "5", "preprocess.json"));
            var (status, _) = await Manage(server.Client, HttpMethod.Post, "/v2/repository/models/fashion/load");
            Assert.Equal(HttpStatusCode.OK, status);

            var random = new Random(9);
            var pixels = Enumerable.Range(0, 784).Select(_ => (float)random.Next(256)).ToArray();
            using var response = await server.Client.PostAsync("/v2/models/fashion/infer", new StringContent(
                $"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":[{string.Join(",", pixels.Select(p => p.ToString(CultureInfo.InvariantCulture)))}]}}]}}",
                Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("5", result.RootElement.GetProperty("model_version").GetString());
            var actual = result.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var standardized = pixels.ToArray();
            preprocess.Apply(standardized);
            Assert.Equal(ServerFixture.DirectProbabilities(5, standardized, 1), actual);

            using var metadata = JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/fashion"));
            var shown = metadata.RootElement.GetProperty("parameters").GetProperty("preprocess");
            Assert.Equal(0.2860, shown.GetProperty("mean").GetDouble(), 6);
            Assert.Equal(0.3530, shown.GetProperty("deviation").GetDouble(), 6);
            Assert.Equal(1 / 255.0, shown.GetProperty("scale").GetDouble(), 9);
            using var old = JsonDocument.Parse(await server.Client.GetStringAsync("/v2/models/other"));
            Assert.Equal(1, old.RootElement.GetProperty("parameters").GetProperty("preprocess").GetProperty("deviation").GetDouble());
        }
        finally { await server.DisposeAsync(); }
    }
}
