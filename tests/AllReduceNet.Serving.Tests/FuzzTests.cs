using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace AllReduceNet.Serving.Tests;

/// <summary>
/// Thousands of random, mutated and hostile requests against every endpoint: none may get a 5xx, every refusal is
/// JSON that says what was wrong, and afterwards the server is healthy and answers a good request correctly.
/// Seeded, so a failure names the request that caused it and reproduces.
/// </summary>
public sealed class FuzzTests : IAsyncLifetime
{
    private const string Key = "fuzz-key";
    private readonly ServerFixture _server = new(["--api-key", Key]);

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    private static readonly string[] Paths =
    [
        "/v2/models/fashion/infer", "/v2/models/fashion/versions/1/infer", "/v2/models/fashion/versions/x/infer",
        "/v2/models/nope/infer", "/predict", "/predict?model=other", "/predict?model=", "/predict?model=%00",
        "/v2/models/fashion", "/v2/models/fashion/ready", "/v2/health/ready", "/v2", "/metrics",
        "/v2/repository/index", "/v2/repository/models/fashion/load", "/v2/repository/models/nope/load",
        "/v2/repository/models/other/unload", "/v2/repository/models/..%2F..%2Fetc/load", "/v2/models//infer",
    ];

    private static readonly string[] ContentTypes =
        ["application/json", "application/json; charset=utf-8", "text/plain", "application/octet-stream", "application/json; charset=latin1", ""];

    private static readonly string[] Keys = ["inputs", "name", "shape", "datatype", "data", "outputs", "parameters", "id", "instances", "binary_data_size"];

    private static readonly string[] Atoms =
        ["null", "true", "false", "0", "-1", "784", "1e39", "-1e-50", "1e309", "18446744073709551616", "0.5", "\"FP32\"",
         "\"input\"", "\"INT64\"", "\"NaN\"", "\"Infinity\"", "\"\"", "\"\\u0000\"", "[]", "{}", "[1,784]", "[0,784]", "[-1,784]", "[2147483647,784]"];

    [Fact]
    public async Task Random_and_mutated_requests_never_get_a_5xx_and_the_server_stays_healthy()
    {
        var random = new Random(20261201);
        string infer = RequestBodies.Infer(RequestBodies.Images(2, 1), 2, id: "fuzz");
        string predict = RequestBodies.Predict(RequestBodies.Images(2, 2), 2);
        const int count = 3000;
        for (int i = 0; i < count; i++)
        {
            byte[] body = (i % 3) switch
            {
                0 => Encoding.UTF8.GetBytes(Mutate(random, random.Next(2) == 0 ? infer : predict)),
                1 => Encoding.UTF8.GetBytes(RandomJson(random, depth: 0)),
                _ => RandomBytes(random),
            };
            string path = random.Next(3) == 0 ? Paths[random.Next(Paths.Length)] : (random.Next(2) == 0 ? Paths[0] : "/predict");
            var method = random.Next(10) switch { 0 => HttpMethod.Get, 1 => HttpMethod.Put, 2 => HttpMethod.Delete, _ => HttpMethod.Post };
            using var request = new HttpRequestMessage(method, path);
            if (method != HttpMethod.Get)
            {
                request.Content = new ByteArrayContent(body);
                string type = ContentTypes[random.Next(4) == 0 ? random.Next(ContentTypes.Length) : 0];
                if (type.Length > 0) request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
            if (random.Next(2) == 0) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", random.Next(3) == 0 ? "wrong" : Key);
            using var response = await _server.Client.SendAsync(request);
            int status = (int)response.StatusCode;
            string answer = await response.Content.ReadAsStringAsync();
            string shown = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 300));
            Assert.True(status < 500, $"request {i} ({method} {path}) got {status}: {answer}; body starts {shown}");
            if (status >= 400)
            {
                using var error = JsonDocument.Parse(answer);
                Assert.True(error.RootElement.TryGetProperty("error", out var message) && message.GetString()!.Length > 0,
                    $"request {i} ({method} {path}) got {status} without a JSON error: {answer}");
            }
        }

        // The fuzzing may have unloaded models: load them back, then the server must be ready and right.
        foreach (var name in new[] { "fashion", "other" })
        {
            using var load = new HttpRequestMessage(HttpMethod.Post, $"/v2/repository/models/{name}/load");
            load.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            Assert.Equal(HttpStatusCode.OK, (await _server.Client.SendAsync(load)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync("/v2/health/ready")).StatusCode);
        var images = RequestBodies.Images(1, 3);
        using var good = await _server.Client.PostAsync("/v2/models/fashion/versions/1/infer", new StringContent(RequestBodies.Infer(images, 1), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        using var result = JsonDocument.Parse(await good.Content.ReadAsStringAsync());
        var probabilities = result.RootElement.GetProperty("outputs").EnumerateArray().First(o => o.GetProperty("name").GetString() == "probabilities")
            .GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var expected = ServerFixture.DirectProbabilities(1, images, 1);
        for (int c = 0; c < expected.Length; c++) Assert.True(Math.Abs(expected[c] - probabilities[c]) <= 1e-6, $"class {c}: {expected[c]} vs {probabilities[c]}");
    }

    /// <summary>A valid body with 1 to 8 edits: cuts, insertions and replacements from JSON's alphabet, or a truncation.</summary>
    private static string Mutate(Random random, string valid)
    {
        const string alphabet = "{}[]\",:0123456789.-eE nulltruefalseNaNInfinity\\";
        var text = new StringBuilder(valid);
        int edits = 1 + random.Next(8);
        for (int e = 0; e < edits && text.Length > 0; e++)
        {
            int at = random.Next(text.Length);
            switch (random.Next(5))
            {
                case 0: text.Remove(at, Math.Min(1 + random.Next(20), text.Length - at)); break;
                case 1: text.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                case 2: text[at] = alphabet[random.Next(alphabet.Length)]; break;
                case 3: text.Insert(at, Atoms[random.Next(Atoms.Length)]); break;
                default: text.Length = at; break;
            }
        }
        return text.ToString();
    }

    /// <summary>Well-formed JSON of random structure over the protocol's own keys, deep nesting included.</summary>
    private static string RandomJson(Random random, int depth)
    {
        if (depth > 3 && random.Next(3) == 0 || depth > 80) return Atoms[random.Next(Atoms.Length)];
        switch (random.Next(depth == 0 ? 3 : 5))
        {
            case 0:
            {
                int n = random.Next(5);
                var fields = Enumerable.Range(0, n).Select(_ => $"\"{Keys[random.Next(Keys.Length)]}\":{RandomJson(random, depth + 1)}");
                return "{" + string.Join(",", fields) + "}";
            }
            case 1:
            {
                int n = random.Next(4);
                return "[" + string.Join(",", Enumerable.Range(0, n).Select(_ => RandomJson(random, depth + 1))) + "]";
            }
            case 2:
                // Nesting past the parser's depth limit.
                return new string('[', 70 + random.Next(60)) + new string(']', 70 + random.Next(60));
            case 3:
                return "[" + string.Join(",", Enumerable.Range(0, random.Next(1600)).Select(_ => (random.NextDouble() * 2 - 1).ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]";
            default:
                return Atoms[random.Next(Atoms.Length)];
        }
    }

    /// <summary>Bytes that are rarely JSON and often not UTF-8.</summary>
    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(random.Next(10) == 0 ? 100_000 : 2_000)];
        random.NextBytes(bytes);
        if (bytes.Length > 0 && random.Next(2) == 0) bytes[0] = (byte)'{';
        return bytes;
    }
}
