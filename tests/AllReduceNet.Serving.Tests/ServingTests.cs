using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

using static AllReduceNet.Serving.Tests.RequestBodies;

namespace AllReduceNet.Serving.Tests;

public sealed class ServingTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Client => server.Client;

    private async Task<(HttpStatusCode Status, JsonElement Body)> Send(HttpMethod method, string path, string? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, contentType);
        using var response = await Client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static void AssertClose(float[] expected, JsonElement actual)
    {
        var values = actual.EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - values[i]) <= 1e-6, $"element {i}: {expected[i]} vs {values[i]}");
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
        return best;
    }

    [Fact]
    public async Task Health_and_server_metadata_answer()
    {
        var (status, body) = await Send(HttpMethod.Get, "/v2/health/live");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("live").GetBoolean());
        (status, body) = await Send(HttpMethod.Get, "/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("ready").GetBoolean());
        (status, _) = await Send(HttpMethod.Get, "/v2");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Metadata_describes_the_tensors_and_versions()
    {
        foreach (string path in new[] { "/v2/models/fashion", "/v2/models/fashion/versions/1" })
        {
            var (status, body) = await Send(HttpMethod.Get, path);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("fashion", body.GetProperty("name").GetString());
            Assert.Equal(["1", "2"], body.GetProperty("versions").EnumerateArray().Select(v => v.GetString()!).ToArray());
            var input = body.GetProperty("inputs")[0];
            Assert.Equal("input", input.GetProperty("name").GetString());
            Assert.Equal("FP32", input.GetProperty("datatype").GetString());
            Assert.Equal([-1, 784], input.GetProperty("shape").EnumerateArray().Select(s => s.GetInt32()).ToArray());
            var outputs = body.GetProperty("outputs");
            Assert.Equal("probabilities", outputs[0].GetProperty("name").GetString());
            Assert.Equal([-1, 10], outputs[0].GetProperty("shape").EnumerateArray().Select(s => s.GetInt32()).ToArray());
            Assert.Equal("class", outputs[1].GetProperty("name").GetString());
            Assert.Equal("INT64", outputs[1].GetProperty("datatype").GetString());
        }
        var (readyStatus, ready) = await Send(HttpMethod.Get, "/v2/models/fashion/ready");
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("2", ready.GetProperty("version").GetString());
        (readyStatus, _) = await Send(HttpMethod.Get, "/v2/models/fashion/versions/1/ready");
        Assert.Equal(HttpStatusCode.OK, readyStatus);
    }

    [Theory]
    [InlineData("/v2/models/fashion/infer", "2", 2)]
    [InlineData("/v2/models/fashion/versions/1/infer", "1", 1)]
    [InlineData("/v2/models/fashion/versions/2/infer", "2", 2)]
    [InlineData("/v2/models/other/infer", "3", 3)]
    public async Task Infer_equals_a_direct_forward_pass_of_the_routed_version(string path, string version, int seed)
    {
        const int rows = 3;
        var input = Images(rows, 42);
        var expected = ServerFixture.DirectProbabilities(seed, input, rows);
        var (status, body) = await Send(HttpMethod.Post, path, Infer(input, rows, id: "req-7"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(version, body.GetProperty("model_version").GetString());
        Assert.Equal("req-7", body.GetProperty("id").GetString());
        var outputs = body.GetProperty("outputs");
        Assert.Equal([rows, 10], outputs[0].GetProperty("shape").EnumerateArray().Select(s => s.GetInt32()).ToArray());
        AssertClose(expected, outputs[0].GetProperty("data"));
        var classes = outputs[1].GetProperty("data").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        for (int r = 0; r < rows; r++) Assert.Equal(ArgMax(expected.AsSpan(r * 10, 10)), classes[r]);
    }

    [Fact]
    public async Task Infer_accepts_nested_data()
    {
        var input = Images(2, 5);
        string nested = "[" + string.Join(",", Enumerable.Range(0, 2).Select(r => Floats(input.Skip(r * 784).Take(784)))) + "]";
        string body = $"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[2,784],\"datatype\":\"FP32\",\"data\":{nested}}}]}}";
        var (status, answer) = await Send(HttpMethod.Post, "/v2/models/fashion/infer", body);
        Assert.Equal(HttpStatusCode.OK, status);
        AssertClose(ServerFixture.DirectProbabilities(2, input, 2), answer.GetProperty("outputs")[0].GetProperty("data"));
    }

    [Fact]
    public async Task Predict_uses_the_default_model_or_the_named_one()
    {
        var input = Images(2, 9);
        string body = "{\"instances\":[" + Floats(input.Take(784)) + "," + Floats(input.Skip(784)) + "]}";
        foreach (var (path, seed) in new[] { ("/predict", 2), ("/predict?model=other", 3) })
        {
            var (status, answer) = await Send(HttpMethod.Post, path, body);
            Assert.Equal(HttpStatusCode.OK, status);
            var expected = ServerFixture.DirectProbabilities(seed, input, 2);
            var predictions = answer.GetProperty("predictions");
            Assert.Equal(2, predictions.GetArrayLength());
            for (int r = 0; r < 2; r++)
            {
                AssertClose(expected[(r * 10)..((r + 1) * 10)], predictions[r].GetProperty("probabilities"));
                Assert.Equal(ArgMax(expected.AsSpan(r * 10, 10)), predictions[r].GetProperty("class").GetInt32());
            }
        }
    }

    public static TheoryData<string, string, string, string, int, string> BadRequests()
    {
        string row = Floats(new float[784]);
        string Tensor(string name = "input", string shape = "[1,784]", string datatype = "FP32", string? data = null) =>
            $"{{\"inputs\":[{{\"name\":\"{name}\",\"shape\":{shape},\"datatype\":\"{datatype}\",\"data\":{data ?? row}}}]}}";
        const string infer = "/v2/models/fashion/infer";
        const string json = "application/json";
        return new()
        {
            { "malformed JSON", infer, "{\"inputs\": [", json, 400, "malformed JSON" },
            { "empty body", infer, "", json, 400, "empty" },
            { "not an object", infer, "[1,2]", json, 400, "JSON object" },
            { "no inputs", infer, "{}", json, 400, "inputs" },
            { "wrong input name", infer, Tensor(name: "pixels"), json, 400, "pixels" },
            { "wrong datatype", infer, Tensor(datatype: "INT32"), json, 400, "INT32" },
            { "wrong width", infer, Tensor(shape: "[1,783]"), json, 400, "783" },
            { "wrong rank", infer, Tensor(shape: "[784]"), json, 400, "shape" },
            { "data short of shape", infer, Tensor(shape: "[2,784]"), json, 400, "holds 784 numbers" },
            { "data beyond shape", infer, Tensor(data: "[" + row + "," + row + "]"), json, 400, "more numbers" },
            { "empty batch", infer, Tensor(shape: "[0,784]", data: "[]"), json, 400, "empty batch" },
            { "NaN literal", infer, Tensor(data: "[NaN]"), json, 400, "malformed JSON" },
            { "NaN string", infer, Tensor(data: "[\"NaN\"" + row[2..]), json, 400, "NaN" },
            { "float overflow", infer, Tensor(data: "[1e39" + row[2..]), json, 400, "finite" },
            { "unknown output", infer, "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":" + row + "}],\"outputs\":[{\"name\":\"logits\"}]}", json, 400, "logits" },
            { "unknown model", "/v2/models/nope/infer", Tensor(), json, 404, "nope" },
            { "unknown version", "/v2/models/fashion/versions/9/infer", Tensor(), json, 404, "version '9'" },
            { "unknown model metadata", "/v2/models/nope", "", "", 404, "nope" },
            { "unknown version ready", "/v2/models/fashion/versions/9/ready", "", "", 404, "version '9'" },
            { "unknown path", "/v3/anything", "", "", 404, "no endpoint" },
            { "wrong content type", infer, Tensor(), "text/plain", 415, "application/json" },
            { "body over the limit", infer, "{\"inputs\":[" + new string(' ', (int)ServerFixture.MaxBodyBytes) + "]}", json, 413, "--max-body-bytes" },
            { "predict empty", "/predict", "{\"instances\":[]}", json, 400, "empty" },
            { "predict wrong width", "/predict", "{\"instances\":[[1,2,3]]}", json, 400, "instance 0" },
            { "predict no instances", "/predict", "{\"rows\":[]}", json, 400, "instances" },
            { "predict unknown model", "/predict?model=nope", "{\"instances\":[" + row + "]}", json, 404, "nope" },
        };
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_is_a_4xx_with_a_message(string what, string path, string body, string contentType, int expectedStatus, string fragment)
    {
        var method = contentType.Length == 0 ? HttpMethod.Get : HttpMethod.Post;
        var (status, answer) = await Send(method, path, contentType.Length == 0 ? null : body, contentType.Length == 0 ? "application/json" : contentType);
        Assert.True(expectedStatus == (int)status, $"{what}: expected {expectedStatus}, got {(int)status}");
        Assert.Equal(JsonValueKind.Object, answer.ValueKind);
        string message = answer.GetProperty("error").GetString()!;
        Assert.Contains(fragment, message, StringComparison.Ordinal);
    }
}
