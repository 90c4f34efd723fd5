using System.Net;
using System.Text;
using System.Text.Json;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Reference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AllReduceNet.Serving.Tests.Drift;

/// <summary>The drift monitor behind HTTP: recording, GET /drift, the feedback endpoint's answers and refusals, the
/// gauges, the --drift-* refusals at start, and reference statistics written by Train and read by Serve.</summary>
public sealed class DriftEndpointTests : IAsyncLifetime
{
    private const int Window = 60;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "arn-drift-" + Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var model = DriftFixtures.Model();
        CheckpointFile.Write(Path.Combine(_directory, "fashion", "1", "model.ckpt"), model);
        DriftFixtures.Preprocess.Write(Path.Combine(_directory, "fashion", "1", Preprocessing.FileName));
        DriftFixtures.Reference(model).Write(Path.Combine(_directory, "fashion", "1", ReferenceStatistics.FileName));
        ServerFixture.WriteCheckpoint(_directory, "plain", 1, seed: 2); // no reference.json
        _app = ServingApp.Build(["--models", _directory, "--drift-window", Window.ToString(), "--drift-step", "30", "--drift-store-rows", "100"],
            builder => builder.WebHost.UseTestServer());
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, string? RequestId)> Send(HttpMethod method, string path, string? body = null, string? requestId = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (requestId is not null) request.Headers.Add("X-Request-Id", requestId);
        using var response = await _client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(),
            response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.First() : null);
    }

    private static string Image(int index) => RequestBodies.Floats(DriftFixtures.Fashion.Raw.AsSpan((DriftFixtures.StreamStart + index) * 784, 784).ToArray());

    private async Task<long> Infer(int index, string? requestId = null, string? protocolId = null)
    {
        string body = $"{{{(protocolId is null ? "" : $"\"id\":\"{protocolId}\",")}\"inputs\":[{{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":{Image(index)}}}],\"outputs\":[{{\"name\":\"class\"}}]}}";
        var (status, answer, _) = await Send(HttpMethod.Post, "/v2/models/fashion/infer", body, requestId);
        Assert.Equal(HttpStatusCode.OK, status);
        return answer.GetProperty("outputs")[0].GetProperty("data")[0].GetInt64();
    }

    private Task WindowsTested() => _app.Services.GetRequiredService<AllReduceNet.Serving.Drift.DriftMonitors>()
        .For(_app.Services.GetRequiredService<ModelRepository>().Get("fashion", null)).Idle.WaitAsync(TimeSpan.FromSeconds(60));

    [Fact]
    public async Task Drift_report_has_its_shape_after_a_window_and_feedback_counts_towards_accuracy()
    {
        var predicted = new Dictionary<string, long>();
        for (int i = 0; i < Window + 5; i++) predicted[$"req-{i}"] = await Infer(i, requestId: $"req-{i}");
        await WindowsTested();

        var (status, body, _) = await Send(HttpMethod.Get, "/drift");
        Assert.Equal(HttpStatusCode.OK, status);
        var models = body.GetProperty("models").EnumerateArray().ToArray();
        var fashion = models.Single(m => m.GetProperty("name").GetString() == "fashion");
        Assert.True(fashion.GetProperty("available").GetBoolean());
        Assert.Equal("1", fashion.GetProperty("version").GetString());
        Assert.Equal(Window, fashion.GetProperty("window").GetProperty("size").GetInt32());
        Assert.True(fashion.GetProperty("window").GetProperty("windows_tested").GetInt64() >= 1);
        var features = fashion.GetProperty("features");
        Assert.Equal(784, features.GetProperty("count").GetInt32());
        Assert.Equal("ks", features.GetProperty("test").GetString());
        int drifted = features.GetProperty("drifted").GetInt32();
        Assert.InRange(drifted, 0, 784);
        Assert.Equal(drifted / 784.0, features.GetProperty("drifted_share").GetDouble(), 9);
        Assert.False(features.GetProperty("dataset_drift").GetBoolean());
        Assert.Equal(JsonValueKind.Number, fashion.GetProperty("multivariate").GetProperty("p_value").ValueKind);
        Assert.Equal(JsonValueKind.Number, fashion.GetProperty("prediction").GetProperty("p_value").ValueKind);
        Assert.Equal(0.5, fashion.GetProperty("thresholds").GetProperty("drift_share").GetDouble());
        Assert.NotEmpty(fashion.GetProperty("history").EnumerateArray());

        // The model without reference statistics: served, recorded, its drift unavailable with the reason.
        var plain = models.Single(m => m.GetProperty("name").GetString() == "plain");
        Assert.False(plain.GetProperty("available").GetBoolean());
        Assert.Contains("reference.json", plain.GetProperty("reason").GetString());

        // Feedback: the true label of a request by its X-Request-Id.
        var (_, labels) = DriftFixtures.Fashion;
        for (int i = 0; i < 10; i++)
        {
            (status, body, _) = await Send(HttpMethod.Post, "/v2/models/fashion/feedback", $"{{\"id\":\"req-{i}\",\"label\":{labels[DriftFixtures.StreamStart + i]}}}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(predicted[$"req-{i}"], body.GetProperty("predicted")[0].GetInt64());
        }
        int correct = Enumerable.Range(0, 10).Count(i => predicted[$"req-{i}"] == labels[DriftFixtures.StreamStart + i]);
        (_, body, _) = await Send(HttpMethod.Get, "/v2/models/fashion/drift");
        var accuracy = body.GetProperty("accuracy");
        Assert.Equal(10, accuracy.GetProperty("labeled").GetInt32());
        Assert.Equal(correct / 10.0, accuracy.GetProperty("value").GetDouble(), 9);

        string metrics = await _client.GetStringAsync("/metrics");
        Assert.Contains("allreducenet_drift_features_drifted{model=\"fashion\",version=\"1\"}", metrics);
        Assert.Contains("allreducenet_drift_feedback_rows_total{model=\"fashion\",version=\"1\"} 10", metrics);
    }

    [Fact]
    public async Task Feedback_refuses_unknown_ids_labels_out_of_range_and_repeats()
    {
        await Infer(0, requestId: "known");
        await Infer(1, protocolId: "oip-id");
        var cases = new (string Body, HttpStatusCode Status, string Says)[]
        {
            ("{\"id\":\"never-sent\",\"label\":1}", HttpStatusCode.NotFound, "no recorded request with id 'never-sent'"),
            ("{\"id\":\"known\",\"label\":10}", HttpStatusCode.BadRequest, "label 10 is out of range"),
            ("{\"id\":\"known\",\"label\":-1}", HttpStatusCode.BadRequest, "label -1 is out of range"),
            ("{\"id\":\"known\",\"label\":\"3\"}", HttpStatusCode.BadRequest, "'label' must be an integer"),
            ("{\"id\":\"known\"}", HttpStatusCode.BadRequest, "exactly one of 'label'"),
            ("{\"label\":1}", HttpStatusCode.BadRequest, "needs 'id'"),
            ("{\"id\":\"known\",\"labels\":[1,2]}", HttpStatusCode.BadRequest, "had 1 rows, but 2 labels"),
            ("[1]", HttpStatusCode.BadRequest, "must be a JSON object"),
        };
        foreach (var (body, expected, says) in cases)
        {
            var (status, answer, _) = await Send(HttpMethod.Post, "/v2/models/fashion/feedback", body);
            Assert.True(expected == status, $"{body}: {status}");
            Assert.Contains(says, answer.GetProperty("error").GetString());
        }
        var (missing, _, _) = await Send(HttpMethod.Post, "/v2/models/nonesuch/feedback", "{\"id\":\"known\",\"label\":1}");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        // The OIP id works as well as the X-Request-Id; a second feedback for one request is a conflict.
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Post, "/v2/models/fashion/versions/1/feedback", "{\"id\":\"oip-id\",\"labels\":[2]}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Post, "/v2/models/fashion/feedback", "{\"id\":\"known\",\"label\":1}")).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await Send(HttpMethod.Post, "/v2/models/fashion/feedback", "{\"id\":\"known\",\"label\":1}")).Status);
    }

    [Fact]
    public async Task Feedback_store_is_bounded_and_forgets_the_oldest_requests()
    {
        await Infer(0, requestId: "oldest");
        for (int i = 1; i <= 100; i++) await Infer(i);
        var (status, body, _) = await Send(HttpMethod.Post, "/v2/models/fashion/feedback", "{\"id\":\"oldest\",\"label\":1}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("--drift-store-rows", body.GetProperty("error").GetString());
        (_, body, _) = await Send(HttpMethod.Get, "/v2/models/fashion/drift");
        Assert.InRange(body.GetProperty("window").GetProperty("rows_stored").GetInt64(), 100, 101);
    }

    [Theory]
    [InlineData("--drift-psi", "-0.1", "--drift-psi is '-0.1'")]
    [InlineData("--drift-wasserstein", "NaN", "--drift-wasserstein is 'NaN'")]
    [InlineData("--drift-ks-p-value", "1.5", "--drift-ks-p-value is '1.5'")]
    [InlineData("--drift-mmd-p-value", "-1", "--drift-mmd-p-value is '-1'")]
    [InlineData("--drift-share", "0", "--drift-share is '0'")]
    [InlineData("--drift-window", "-5", "--drift-window is '-5'")]
    [InlineData("--drift-step", "600", "--drift-step (600) must not exceed --drift-window (500)")]
    [InlineData("--drift-feature-test", "t-test", "--drift-feature-test is 't-test'")]
    public void Unusable_drift_options_are_refused_at_start(string option, string value, string says)
    {
        var error = Assert.Throws<ServingConfigurationException>(() => ServingApp.Build(["--models", _directory, option, value]));
        Assert.Contains(says, error.Message);
    }

    [Fact]
    public async Task Reference_statistics_written_by_train_are_read_by_serve()
    {
        string models = Path.Combine(_directory, "trained");
        string export = Path.Combine(models, "tiny", "1");
        string checkpoint = Path.Combine(_directory, "train.ckpt");
        var output = new StringWriter();
        int code = TrainCommand.Run(["--synthetic", "400", "--layers", "12,8,3", "--ranks", "1", "--epochs", "1", "--batch-size", "40",
            "--device", "cpu", "--checkpoint", checkpoint, "--quiet", "--export-model", export], output, output);
        Assert.True(code == 0, output.ToString());
        var beside = ReferenceStatistics.Read(ReferenceStatistics.PathBeside(checkpoint));
        var exported = ReferenceStatistics.Read(Path.Combine(export, ReferenceStatistics.FileName));
        Assert.Equal(12, exported.FeatureCount);
        Assert.Equal(3, exported.Classes);
        Assert.Equal(400, exported.TrainingSamples);
        Assert.Equal(100, exported.ValidationSamples);
        Assert.Equal(100, exported.PredictedClasses.Sum());
        Assert.Equal(8, exported.Activations[0].Length); // the hidden layer of 8
        Assert.All(exported.Features, f => Assert.Equal(400, f.Total));
        Assert.Equal(exported.ValidationAccuracy, beside.ValidationAccuracy);

        await using var app = ServingApp.Build(["--models", models], builder => builder.WebHost.UseTestServer());
        await app.StartAsync();
        var served = app.Services.GetRequiredService<ModelRepository>().Get("tiny", null);
        Assert.NotNull(served.Reference);
        Assert.Equal(exported.ValidationAccuracy, served.Reference!.ValidationAccuracy);
        string text = await app.GetTestClient().GetStringAsync("/v2/models/tiny/drift");
        Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("available").GetBoolean());
        await app.StopAsync();

        // A damaged reference.json is refused with the file named, as a damaged checkpoint is.
        File.WriteAllText(Path.Combine(export, ReferenceStatistics.FileName), "{\"format_version\": 1, \"features\": []}");
        var error = Assert.Throws<ServingConfigurationException>(() => ServingApp.Build(["--models", models]));
        Assert.Contains("reference.json", error.Message);
        Assert.Contains("\"features\" is empty", error.Message);
    }
}
