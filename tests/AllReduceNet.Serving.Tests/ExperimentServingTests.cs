using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;

namespace AllReduceNet.Serving.Tests;

/// <summary>Experiments through the server: the split and its stickiness, shadow mode, promotion and rollback from
/// labels, the pinned version, the decision log and metrics, and every refusal.</summary>
public sealed class ExperimentServingTests
{
    private const string Key = "test-key";
    private const string ExperimentPath = "/v2/repository/models/fashion/experiment";

    private static async Task<ServerFixture> Start(params string[] args)
    {
        var server = new ServerFixture(args.Length == 0 ? ["--api-key", Key] : args);
        await server.InitializeAsync();
        return server;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Send(HttpClient client, HttpMethod method, string path, string? json = null, string? key = Key)
    {
        using var request = new HttpRequestMessage(method, path);
        if (key is not null) request.Headers.Authorization = new("Bearer", key);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private sealed record Answer(string Version, string? Variant, string RequestId, long Class);

    private static async Task<Answer> Infer(HttpClient client, float[] image, string? user = null, string? requestId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/fashion/infer")
        {
            Content = new StringContent(RequestBodies.Infer(image, 1), Encoding.UTF8, "application/json"),
        };
        if (user is not null) request.Headers.Add("X-User-Id", user);
        if (requestId is not null) request.Headers.Add("X-Request-Id", requestId);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        long @class = root.GetProperty("outputs").EnumerateArray().First(o => o.GetProperty("name").GetString() == "class").GetProperty("data")[0].GetInt64();
        return new Answer(root.GetProperty("model_version").GetString()!,
            response.Headers.TryGetValues("X-Experiment-Variant", out var variant) ? variant.Single() : null,
            response.Headers.GetValues("X-Request-Id").Single(), @class);
    }

    /// <summary>The class a fixture model (seed = its version's seed) gives an image, computed without the server.</summary>
    private static long DirectClass(int seed, float[] image)
    {
        var probabilities = ServerFixture.DirectProbabilities(seed, image, 1);
        return Array.IndexOf(probabilities, probabilities.Max());
    }

    private static Task<(HttpStatusCode Status, JsonElement Body)> Feedback(HttpClient client, string requestId, long label, string model = "fashion") =>
        Send(client, HttpMethod.Post, $"/v2/models/{model}/experiment/feedback", $"{{\"request_id\":\"{requestId}\",\"label\":{label}}}", key: null);

    [Fact]
    public async Task Traffic_splits_by_weight_within_a_binomial_bound_and_each_user_keeps_a_variant()
    {
        var server = await Start();
        try
        {
            var (status, started) = await Send(server.Client, HttpMethod.Post, ExperimentPath,
                "{\"control\":\"1\",\"candidate\":\"2\",\"weights\":{\"control\":70,\"candidate\":30}}");
            Assert.Equal(HttpStatusCode.Created, status);
            Assert.Equal("running", started.GetProperty("state").GetString());
            var image = RequestBodies.Images(1, seed: 5);
            const int users = 300;
            var first = new Dictionary<string, Answer>();
            for (int u = 0; u < users; u++)
            {
                var answer = await Infer(server.Client, image, user: $"user-{u}");
                // The variant answered is the version answered.
                Assert.Equal(answer.Variant == "candidate" ? "2" : "1", answer.Version);
                first[$"user-{u}"] = answer;
            }
            int candidate = first.Values.Count(a => a.Variant == "candidate");
            double sigma = Math.Sqrt(users * 0.3 * 0.7);
            Assert.InRange(candidate, users * 0.3 - 4 * sigma, users * 0.3 + 4 * sigma);
            for (int u = 0; u < 20; u++)
                Assert.Equal(first[$"user-{u}"].Variant, (await Infer(server.Client, image, user: $"user-{u}")).Variant);
            // A request naming its version is not rerouted.
            using (var pinned = await server.Client.PostAsync("/v2/models/fashion/versions/1/infer", new StringContent(RequestBodies.Infer(image, 1), Encoding.UTF8, "application/json")))
                Assert.False(pinned.Headers.Contains("X-Experiment-Variant"));
            var (_, report) = await Send(server.Client, HttpMethod.Get, ExperimentPath);
            var variants = report.GetProperty("variants");
            Assert.Equal(candidate + first.Take(20).Count(p => p.Value.Variant == "candidate"), variants.GetProperty("candidate").GetProperty("requests").GetInt64());
            Assert.Equal(users + 20, variants.GetProperty("control").GetProperty("requests").GetInt64() + variants.GetProperty("candidate").GetProperty("requests").GetInt64());
            Assert.True(variants.GetProperty("candidate").GetProperty("latency_p99_ms").GetDouble() > 0);
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Shadow_mode_answers_with_the_control_and_records_the_candidates_answer()
    {
        var server = await Start();
        try
        {
            Assert.Equal(HttpStatusCode.Created, (await Send(server.Client, HttpMethod.Post, ExperimentPath,
                "{\"control\":1,\"candidate\":2,\"mode\":\"shadow\",\"auto\":false}")).Status);
            const int requests = 24;
            var images = Enumerable.Range(0, requests).Select(i => RequestBodies.Images(1, seed: 100 + i)).ToArray();
            var answers = new List<Answer>();
            for (int i = 0; i < requests; i++)
            {
                var answer = await Infer(server.Client, images[i], user: $"user-{i}", requestId: $"shadow-{i}");
                Assert.Equal(("1", "control"), (answer.Version, answer.Variant));
                Assert.Equal(DirectClass(1, images[i]), answer.Class);
                answers.Add(answer);
            }
            // The copies run after the answers: wait for them (bounded).
            JsonElement report = default;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                report = (await Send(server.Client, HttpMethod.Get, ExperimentPath)).Body;
                if (report.GetProperty("variants").GetProperty("candidate").GetProperty("requests").GetInt64() == requests) break;
                await Task.Delay(50);
            }
            Assert.Equal(requests, report.GetProperty("variants").GetProperty("candidate").GetProperty("requests").GetInt64());
            // Labels equal to the candidate's own answers: the candidate is right every time, the control as often as it agrees.
            for (int i = 0; i < requests; i++)
                Assert.Equal(HttpStatusCode.OK, (await Feedback(server.Client, answers[i].RequestId, DirectClass(2, images[i]))).Status);
            int agree = Enumerable.Range(0, requests).Count(i => DirectClass(1, images[i]) == DirectClass(2, images[i]));
            var (_, after) = await Send(server.Client, HttpMethod.Get, ExperimentPath);
            var variants = after.GetProperty("variants");
            Assert.Equal(requests, variants.GetProperty("candidate").GetProperty("correct").GetInt64());
            Assert.Equal(agree, variants.GetProperty("control").GetProperty("correct").GetInt64());
            Assert.Equal("running", after.GetProperty("state").GetString());
        }
        finally { await server.DisposeAsync(); }
    }

    /// <summary>Runs split traffic with labels from <paramref name="truthSeed"/>'s model until the experiment ends.</summary>
    private static async Task<JsonElement> RunUntilDecided(HttpClient client, int truthSeed)
    {
        for (int i = 0; i < 1000; i++)
        {
            var image = RequestBodies.Images(1, seed: 1000 + i);
            var answer = await Infer(client, image, user: $"user-{i}");
            var (status, _) = await Feedback(client, answer.RequestId, DirectClass(truthSeed, image));
            Assert.Equal(HttpStatusCode.OK, status);
            var (_, report) = await Send(client, HttpMethod.Get, ExperimentPath);
            if (report.GetProperty("state").GetString() != "running") return report;
        }
        throw new Xunit.Sdk.XunitException("no decision after 1000 labeled requests");
    }

    [Fact]
    public async Task The_drift_monitors_feedback_endpoint_also_labels_the_experiments_variants()
    {
        var server = await Start();
        try
        {
            Assert.Equal(HttpStatusCode.Created, (await Send(server.Client, HttpMethod.Post, ExperimentPath,
                "{\"control\":\"2\",\"candidate\":\"1\",\"weights\":{\"control\":50,\"candidate\":50}}")).Status);
            int labeled = 0;
            for (int i = 0; i < 6; i++)
            {
                var image = RequestBodies.Images(1, seed: 500 + i);
                var answer = await Infer(server.Client, image, user: $"user-{i}");
                // One label through the general endpoint (docs/drift.md): it reaches the experiment too.
                var (status, body) = await Send(server.Client, HttpMethod.Post, "/v2/models/fashion/feedback",
                    $"{{\"id\":\"{answer.RequestId}\",\"label\":{answer.Class}}}", key: null);
                Assert.True(status == HttpStatusCode.OK, body.ToString());
                labeled++;
            }
            var (_, report) = await Send(server.Client, HttpMethod.Get, ExperimentPath);
            var variants = report.GetProperty("variants");
            long control = variants.GetProperty("control").GetProperty("labeled").GetInt64();
            long candidate = variants.GetProperty("candidate").GetProperty("labeled").GetInt64();
            Assert.Equal(labeled, control + candidate);
            Assert.Equal(labeled, variants.GetProperty("control").GetProperty("correct").GetInt64() + variants.GetProperty("candidate").GetProperty("correct").GetInt64());
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task A_better_candidate_is_promoted_and_pinned_and_the_decision_is_logged_and_exported()
    {
        var server = await Start();
        try
        {
            // Control 2, candidate 1, labels from version 1: the candidate is always right.
            Assert.Equal(HttpStatusCode.Created, (await Send(server.Client, HttpMethod.Post, ExperimentPath,
                "{\"control\":\"2\",\"candidate\":\"1\",\"weights\":{\"control\":50,\"candidate\":50},\"min_samples\":20}")).Status);
            var report = await RunUntilDecided(server.Client, truthSeed: 1);
            Assert.Equal("promoted", report.GetProperty("state").GetString());
            var decision = report.GetProperty("decision");
            Assert.Equal(("promote", "1", true), (decision.GetProperty("action").GetString(), decision.GetProperty("served_version").GetString(), decision.GetProperty("automatic").GetBoolean()));
            Assert.True(report.GetProperty("test").GetProperty("p_value").GetDouble() <= 0.05);
            Assert.Equal(1.0, report.GetProperty("variants").GetProperty("candidate").GetProperty("accuracy").GetDouble());
            // Version 1 now answers requests for the default, although 2 is the highest.
            var after = await Infer(server.Client, RequestBodies.Images(1, seed: 9), user: "anyone");
            Assert.Equal(("1", (string?)null), (after.Version, after.Variant));
            string log = File.ReadAllText(Path.Combine(server.Directory, "fashion", ExperimentRegistry.LogFileName));
            Assert.Contains("\"action\":\"promote\"", log);
            string metrics = await server.Client.GetStringAsync("/metrics");
            Assert.Contains("allreducenet_serving_experiment_accuracy{model=\"fashion\",variant=\"candidate\",version=\"1\"} 1", metrics);
            Assert.Contains("allreducenet_serving_experiment_running{model=\"fashion\"} 0", metrics);
            // Ended: no more manual decisions; a new experiment may start.
            Assert.Equal(HttpStatusCode.Conflict, (await Send(server.Client, HttpMethod.Post, ExperimentPath + "/rollback")).Status);
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task A_worse_candidate_is_rolled_back_and_stop_returns_to_the_repository_default()
    {
        var server = await Start();
        try
        {
            Assert.Equal(HttpStatusCode.Created, (await Send(server.Client, HttpMethod.Post, ExperimentPath,
                "{\"control\":\"1\",\"candidate\":\"2\",\"weights\":{\"control\":50,\"candidate\":50},\"min_samples\":20}")).Status);
            var report = await RunUntilDecided(server.Client, truthSeed: 1);
            Assert.Equal("rolled_back", report.GetProperty("state").GetString());
            Assert.Equal("1", (await Infer(server.Client, RequestBodies.Images(1, seed: 9))).Version);
            // A second experiment, stopped by hand: the pin goes, the repository's default (the highest, 2) is back.
            Assert.Equal(HttpStatusCode.Created, (await Send(server.Client, HttpMethod.Post, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\"}")).Status);
            var (status, stopped) = await Send(server.Client, HttpMethod.Post, ExperimentPath + "/stop");
            Assert.Equal((HttpStatusCode.OK, "stopped", false), (status, stopped.GetProperty("state").GetString(), stopped.GetProperty("decision").GetProperty("automatic").GetBoolean()));
            Assert.Equal("2", (await Infer(server.Client, RequestBodies.Images(1, seed: 9))).Version);
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task A_promotion_is_restored_from_the_decision_log_after_a_restart()
    {
        var server = await Start();
        try
        {
            await Send(server.Client, HttpMethod.Post, ExperimentPath, "{\"control\":\"2\",\"candidate\":\"1\"}");
            Assert.Equal(HttpStatusCode.OK, (await Send(server.Client, HttpMethod.Post, ExperimentPath + "/promote")).Status);
            var app = ServingApp.Build(["--models", server.Directory, "--version-policy", "all"], builder => builder.WebHost.UseTestServer());
            await app.StartAsync();
            try
            {
                var answer = await Infer(app.GetTestClient(), RequestBodies.Images(1, seed: 3));
                Assert.Equal("1", answer.Version);
            }
            finally { await app.StopAsync(); await app.DisposeAsync(); }
        }
        finally { await server.DisposeAsync(); }
    }

    [Fact]
    public async Task Bad_experiments_and_feedback_are_refused_with_a_clear_4xx()
    {
        var server = await Start();
        try
        {
            async Task Refused(HttpStatusCode expected, string path, string? json, string needle, string? key = Key)
            {
                var (status, body) = await Send(server.Client, HttpMethod.Post, path, json, key);
                Assert.Equal(expected, status);
                Assert.Contains(needle, body.GetProperty("error").GetString());
            }
            await Refused(HttpStatusCode.BadRequest, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\",\"weights\":{\"control\":80,\"candidate\":10}}", "sum to 100");
            await Refused(HttpStatusCode.BadRequest, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\",\"weights\":{\"control\":110,\"candidate\":-10}}", "negative");
            await Refused(HttpStatusCode.BadRequest, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\",\"mode\":\"shadow\",\"weights\":{\"control\":90,\"candidate\":10}}", "shadow");
            await Refused(HttpStatusCode.BadRequest, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\",\"alpha\":1.5}", "'alpha'");
            await Refused(HttpStatusCode.BadRequest, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\",\"guardrails\":{\"max_p99_ratio\":0.5}}", "max_p99_ratio");
            await Refused(HttpStatusCode.BadRequest, ExperimentPath, "{\"candidate\":\"2\"}", "'control'");
            await Refused(HttpStatusCode.NotFound, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"7\"}", "no version '7'");
            await Refused(HttpStatusCode.NotFound, "/v2/repository/models/nosuch/experiment", "{\"control\":\"1\",\"candidate\":\"2\"}", "'nosuch'");
            await Refused(HttpStatusCode.Unauthorized, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\"}", "API key", key: null);
            await Refused(HttpStatusCode.Unauthorized, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\"}", "wrong", key: "nope");
            Assert.Equal(HttpStatusCode.NotFound, (await Send(server.Client, HttpMethod.Get, ExperimentPath)).Status);

            Assert.Equal(HttpStatusCode.Created, (await Send(server.Client, HttpMethod.Post, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\",\"auto\":false}")).Status);
            await Refused(HttpStatusCode.Conflict, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\"}", "running already");
            var answer = await Infer(server.Client, RequestBodies.Images(1, seed: 4), user: "u");
            await Refused(HttpStatusCode.NotFound, "/v2/models/fashion/experiment/feedback", "{\"request_id\":\"never-sent\",\"label\":1}", "never-sent", key: null);
            await Refused(HttpStatusCode.BadRequest, "/v2/models/fashion/experiment/feedback", $"{{\"request_id\":\"{answer.RequestId}\",\"label\":10}}", "out of range", key: null);
            await Refused(HttpStatusCode.BadRequest, "/v2/models/fashion/experiment/feedback", $"{{\"request_id\":\"{answer.RequestId}\",\"label\":-1}}", "out of range", key: null);
            await Refused(HttpStatusCode.BadRequest, "/v2/models/fashion/experiment/feedback", $"{{\"request_id\":\"{answer.RequestId}\",\"label\":\"3\"}}", "integer", key: null);
            await Refused(HttpStatusCode.BadRequest, "/v2/models/fashion/experiment/feedback", $"{{\"request_id\":\"{answer.RequestId}\",\"labels\":[1,2]}}", "1 rows", key: null);
            await Refused(HttpStatusCode.NotFound, "/v2/models/other/experiment/feedback", $"{{\"request_id\":\"{answer.RequestId}\",\"label\":1}}", "no experiment", key: null);
            Assert.Equal(HttpStatusCode.OK, (await Feedback(server.Client, answer.RequestId, 3)).Status);
            await Refused(HttpStatusCode.Conflict, "/v2/models/fashion/experiment/feedback", $"{{\"request_id\":\"{answer.RequestId}\",\"label\":3}}", "labeled already", key: null);
        }
        finally { await server.DisposeAsync(); }

        // Without a configured key, management is closed.
        var closed = await Start("--version-policy", "all");
        try { Assert.Equal(HttpStatusCode.Forbidden, (await Send(closed.Client, HttpMethod.Post, ExperimentPath, "{\"control\":\"1\",\"candidate\":\"2\"}")).Status); }
        finally { await closed.DisposeAsync(); }
    }
}
