using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Onnx;
using AllReduceNet.Training.Optim;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;

namespace AllReduceNet.Serving.Tests;

/// <summary>
/// ONNX models in the repository (NAME/VERSION/model.onnx) served through ONNX Runtime: one exported by Train.dll's
/// exporter answers as its checkpoint does; one exported by PyTorch (Fixtures/) answers as torch did, within 1e-5;
/// models the server cannot feed, and version directories with both model files or neither, are refused by name.
/// </summary>
public sealed class OnnxServingTests
{
    private const float Tolerance = 1e-5f;
    private const string Key = "test-key";
    private static readonly Preprocessing Fashion = new(1 / 255.0, 0.2860, 0.3530);

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>A repository directory deleted on dispose, with a server over it once started.</summary>
    private sealed class Repository : IAsyncDisposable
    {
        public string Directory { get; } = Path.Combine(Path.GetTempPath(), "arn-onnx-" + Guid.NewGuid().ToString("N"));
        private WebApplication? _app;
        public HttpClient Client { get; private set; } = null!;

        public string VersionDirectory(string name, int version)
        {
            string path = Path.Combine(Directory, name, version.ToString(CultureInfo.InvariantCulture));
            System.IO.Directory.CreateDirectory(path);
            return path;
        }

        public void CopyFixture(string fixture, string name, int version) =>
            File.Copy(Fixture(fixture), Path.Combine(VersionDirectory(name, version), "model.onnx"));

        public WebApplication Build(params string[] args) =>
            ServingApp.Build(["--models", Directory, "--version-policy", "all", .. args], builder => builder.WebHost.UseTestServer());

        public async Task Start(params string[] args)
        {
            _app = Build(args);
            await _app.StartAsync();
            Client = _app.GetTestClient();
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null) { await _app.StopAsync(); await _app.DisposeAsync(); }
            if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    private static string Floats(IEnumerable<float> values) => "[" + string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Post(HttpClient client, string path, string body, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new("Bearer", key);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static async Task<(float[] Probabilities, long[] Classes)> Infer(HttpClient client, string model, string inputName, float[] input, int rows)
    {
        var (status, body) = await Post(client, $"/v2/models/{model}/infer",
            $"{{\"inputs\":[{{\"name\":\"{inputName}\",\"shape\":[{rows},784],\"datatype\":\"FP32\",\"data\":{Floats(input)}}}]}}");
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var outputs = body.GetProperty("outputs");
        Assert.Equal([rows, 10], outputs[0].GetProperty("shape").EnumerateArray().Select(s => s.GetInt32()).ToArray());
        return (outputs[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray(),
            outputs[1].GetProperty("data").EnumerateArray().Select(e => e.GetInt64()).ToArray());
    }

    private static void AssertClose(IReadOnlyList<float> expected, IReadOnlyList<float> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"{what}, element {i}: expected {expected[i]}, served {actual[i]}");
    }

    private static float[] Pixels(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * 784).Select(_ => (float)random.Next(256)).ToArray();
    }

    /// <summary>The checkpoint of <see cref="ServerFixture.Parameters"/>, as model.ckpt with Fashion's preprocess.json,
    /// and the same model exported as model.onnx (preprocessing inside the graph).</summary>
    private static void WriteNativeAndExported(Repository repository, int seed)
    {
        var parameters = ServerFixture.Parameters(seed);
        var checkpoint = new Checkpoint(ServerFixture.Sizes, 1, seed, OptimizerKind.Sgd, 0, parameters, [new float[parameters.Length]]);
        string native = repository.VersionDirectory("native", 1);
        CheckpointFile.Write(Path.Combine(native, "model.ckpt"), checkpoint);
        Fashion.Write(Path.Combine(native, Preprocessing.FileName));
        MlpOnnxExport.Write(Path.Combine(repository.VersionDirectory("exported", 1), "model.onnx"), checkpoint, Fashion);
    }

    [Fact]
    public async Task Exported_onnx_answers_as_its_checkpoint_for_raw_pixels()
    {
        await using var repository = new Repository();
        WriteNativeAndExported(repository, seed: 4);
        await repository.Start();
        foreach (int rows in new[] { 1, 6 })
        {
            var pixels = Pixels(rows, seed: rows);
            var native = await Infer(repository.Client, "native", "input", pixels, rows);
            var onnx = await Infer(repository.Client, "exported", "input", pixels, rows);
            AssertClose(native.Probabilities, onnx.Probabilities, $"{rows} rows");
            Assert.Equal(native.Classes, onnx.Classes);
            // Checked against the kernels called directly too, not only against another served answer.
            var standardized = (float[])pixels.Clone();
            Fashion.Apply(standardized);
            AssertClose(ServerFixture.DirectProbabilities(4, standardized, rows), onnx.Probabilities, $"{rows} rows, direct");
        }

        var (status, predict) = await Post(repository.Client, "/predict?model=exported", $"{{\"instances\":[{Floats(Pixels(1, 1))}]}}");
        Assert.Equal(HttpStatusCode.OK, status);
        var (nativeStatus, nativePredict) = await Post(repository.Client, "/predict?model=native", $"{{\"instances\":[{Floats(Pixels(1, 1))}]}}");
        Assert.Equal(HttpStatusCode.OK, nativeStatus);
        Assert.Equal(nativePredict.GetProperty("predictions")[0].GetProperty("class").GetInt64(), predict.GetProperty("predictions")[0].GetProperty("class").GetInt64());
        AssertClose(nativePredict.GetProperty("predictions")[0].GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle()).ToArray(),
            predict.GetProperty("predictions")[0].GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle()).ToArray(), "/predict");

        using var metadata = JsonDocument.Parse(await repository.Client.GetStringAsync("/v2/models/exported"));
        var root = metadata.RootElement;
        Assert.Equal("onnxruntime_onnx", root.GetProperty("platform").GetString());
        Assert.Equal("input", root.GetProperty("inputs")[0].GetProperty("name").GetString());
        Assert.Equal([-1, 784], root.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray());
        Assert.Equal("AllReduceNet Train.dll", root.GetProperty("parameters").GetProperty("producer").GetString());
        var modelOutputs = root.GetProperty("parameters").GetProperty("model_outputs");
        Assert.Equal(["probabilities", "class"], modelOutputs.EnumerateArray().Select(o => o.GetProperty("name").GetString()!).ToArray());
        Assert.Equal("INT64", modelOutputs[1].GetProperty("datatype").GetString());
        // The graph standardizes; the server adds nothing.
        Assert.Equal(1, root.GetProperty("parameters").GetProperty("preprocess").GetProperty("scale").GetDouble());
    }

    [Fact]
    public async Task Torch_exported_model_answers_as_torch_did()
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Fixture("torch_mlp_expected.json")));
        var inputs = expected.RootElement.GetProperty("inputs").EnumerateArray().Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
        var probabilities = expected.RootElement.GetProperty("probabilities").EnumerateArray().Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
        var classes = expected.RootElement.GetProperty("classes").EnumerateArray().Select(c => c.GetInt64()).ToArray();
        await using var repository = new Repository();
        repository.CopyFixture("torch_mlp.onnx", "torch", 1);
        await repository.Start();

        var all = await Infer(repository.Client, "torch", "pixels", inputs.SelectMany(r => r).ToArray(), inputs.Length);
        AssertClose(probabilities.SelectMany(r => r).ToArray(), all.Probabilities, "all rows at once");
        Assert.Equal(classes, all.Classes);
        // The logits are not a distribution: what torch answered is softmax(logits), so the server applied it.
        Assert.Contains(expected.RootElement.GetProperty("logits")[0].EnumerateArray(), v => v.GetDouble() < 0);

        var (status, predict) = await Post(repository.Client, "/predict?model=torch", $"{{\"instances\":[{Floats(inputs[2])}]}}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(classes[2], predict.GetProperty("predictions")[0].GetProperty("class").GetInt64());
        AssertClose(probabilities[2], predict.GetProperty("predictions")[0].GetProperty("probabilities").EnumerateArray().Select(e => e.GetSingle()).ToArray(), "/predict row 2");

        using var metadata = JsonDocument.Parse(await repository.Client.GetStringAsync("/v2/models/torch"));
        var root = metadata.RootElement;
        Assert.Equal("onnxruntime_onnx", root.GetProperty("platform").GetString());
        Assert.Equal("pixels", root.GetProperty("inputs")[0].GetProperty("name").GetString());
        Assert.Equal("FP32", root.GetProperty("inputs")[0].GetProperty("datatype").GetString());
        Assert.Equal([-1, 784], root.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray());
        Assert.Equal("pytorch", root.GetProperty("parameters").GetProperty("producer").GetString());
        Assert.Equal("logits", root.GetProperty("parameters").GetProperty("scores_output").GetString());
        var output = Assert.Single(root.GetProperty("parameters").GetProperty("model_outputs").EnumerateArray());
        Assert.Equal([-1, 10], output.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray());

        // Requests name the model's own input.
        var (wrong, error) = await Post(repository.Client, "/v2/models/torch/infer",
            $"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":{Floats(inputs[0])}}}]}}");
        Assert.Equal(HttpStatusCode.BadRequest, wrong);
        Assert.Contains("'pixels'", error.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Concurrent_requests_to_an_onnx_model_are_batched_and_each_gets_its_own_rows()
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Fixture("torch_mlp_expected.json")));
        var inputs = expected.RootElement.GetProperty("inputs").EnumerateArray().Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
        var probabilities = expected.RootElement.GetProperty("probabilities").EnumerateArray().Select(r => r.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).ToArray();
        await using var repository = new Repository();
        repository.CopyFixture("torch_mlp.onnx", "torch", 1);
        // A long delay: the requests sent together wait for each other and run as one batch.
        await repository.Start("--max-batch", "64", "--max-queue-delay-us", "200000");
        var answers = await Task.WhenAll(inputs.Select(row => Infer(repository.Client, "torch", "pixels", row, 1)));
        for (int r = 0; r < inputs.Length; r++) AssertClose(probabilities[r], answers[r].Probabilities, $"request {r}");
        string metrics = await repository.Client.GetStringAsync("/metrics");
        // Fewer forward passes than requests: at least two requests shared one.
        var count = metrics.Split('\n').Single(l => l.StartsWith("allreducenet_serving_batch_size_count{", StringComparison.Ordinal));
        Assert.True(double.Parse(count[(count.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture) < inputs.Length, count);
    }

    [Theory]
    [InlineData("garbage", "ONNX Runtime cannot load it")]
    [InlineData("torch_fixed_batch.onnx", "its input 'x' has a fixed batch dimension, shape [2, 4]")]
    [InlineData("torch_rank3_input.onnx", "its input 'x' has shape [-1, 2, 4], but the server needs [batch, n]")]
    [InlineData("both", "holds both model.ckpt and model.onnx")]
    [InlineData("neither", "holds neither model.ckpt nor model.onnx")]
    public async Task Unservable_versions_fail_startup_with_a_message_naming_them(string kind, string message)
    {
        await using var repository = new Repository();
        string version = repository.VersionDirectory("broken", 3);
        switch (kind)
        {
            case "garbage": File.WriteAllText(Path.Combine(version, "model.onnx"), "not a protobuf model"); break;
            case "both":
                WriteNativeAndExported(repository, seed: 1);
                File.Copy(Path.Combine(repository.Directory, "native", "1", "model.ckpt"), Path.Combine(version, "model.ckpt"));
                File.Copy(Path.Combine(repository.Directory, "exported", "1", "model.onnx"), Path.Combine(version, "model.onnx"));
                break;
            case "neither": break;
            default: File.Copy(Fixture(kind), Path.Combine(version, "model.onnx")); break;
        }
        var error = Assert.Throws<ServingConfigurationException>(() => repository.Build());
        Assert.Contains(message, error.Message);
        Assert.Contains(Path.Combine(repository.Directory, "broken", "3"), error.Message);
    }

    [Fact]
    public async Task Loading_a_malformed_onnx_version_is_a_400_and_the_served_version_stays()
    {
        await using var repository = new Repository();
        repository.CopyFixture("torch_mlp.onnx", "torch", 1);
        await repository.Start("--api-key", Key);
        File.WriteAllBytes(Path.Combine(repository.VersionDirectory("torch", 2), "model.onnx"), [0x08, 0x07, 0xFF, 0xFF]);
        var (status, body) = await Post(repository.Client, "/v2/repository/models/torch/load", "{}", Key);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(Path.Combine("torch", "2", "model.onnx"), body.GetProperty("error").GetString());
        Assert.Contains("served versions are unchanged", body.GetProperty("error").GetString());
        var (metaStatus, _) = await Post(repository.Client, "/v2/models/torch/versions/1/infer",
            $"{{\"inputs\":[{{\"name\":\"pixels\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":{Floats(new float[784])}}}]}}");
        Assert.Equal(HttpStatusCode.OK, metaStatus);
    }
}
