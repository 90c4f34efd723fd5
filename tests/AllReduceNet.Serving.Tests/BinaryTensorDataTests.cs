using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace AllReduceNet.Serving.Tests;

/// <summary>The binary tensor data extension: a JSON header of Inference-Header-Content-Length bytes, then raw
/// little-endian tensors, in requests and (when asked for) in responses.</summary>
public sealed class BinaryTensorDataTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Path1 = "/v2/models/fashion/versions/1/infer";

    private static float[] Images(int rows, int seed)
    {
        var random = new Random(seed);
        var values = new float[rows * 784];
        for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble();
        return values;
    }

    private static byte[] LittleEndian<T>(T[] values) where T : unmanaged
    {
        Assert.True(BitConverter.IsLittleEndian);
        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    /// <summary>A body of the extension: <paramref name="header"/> as JSON, then <paramref name="binary"/>; the header length is that of the JSON unless given.</summary>
    private static HttpContent BinaryBody(string header, byte[] binary, string? headerLength = null, string contentType = "application/octet-stream")
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var content = new ByteArrayContent([.. json, .. binary]);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        content.Headers.Add("Inference-Header-Content-Length", headerLength ?? json.Length.ToString());
        return content;
    }

    private static string Header(int rows, long? binaryDataSize, string extra = "", string tensorExtra = "") =>
        $"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[{rows},784],\"datatype\":\"FP32\"" +
        (binaryDataSize is null ? "" : $",\"parameters\":{{\"binary_data_size\":{binaryDataSize}}}") + $"{tensorExtra}}}]{extra}}}";

    private async Task<(HttpStatusCode Status, HttpResponseMessage Response, byte[] Body)> Post(HttpContent content)
    {
        var response = await server.Client.PostAsync(Path1, content);
        return (response.StatusCode, response, await response.Content.ReadAsByteArrayAsync());
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"element {i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public async Task Server_metadata_lists_the_extension()
    {
        using var response = await server.Client.GetAsync("/v2");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("binary_tensor_data", body.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Binary_input_gives_the_same_answer_as_the_forward_pass_and_json_outputs_by_default()
    {
        const int Rows = 3;
        var input = Images(Rows, 11);
        var (status, response, body) = await Post(BinaryBody(Header(Rows, Rows * 784 * 4), LittleEndian(input)));
        Assert.True(status == HttpStatusCode.OK, Encoding.UTF8.GetString(body));
        Assert.False(response.Headers.Contains("Inference-Header-Content-Length"));
        using var json = JsonDocument.Parse(body);
        var outputs = json.RootElement.GetProperty("outputs");
        AssertClose(ServerFixture.DirectProbabilities(1, input, Rows), outputs[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        Assert.Equal(Rows, outputs[1].GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Binary_data_output_returns_every_output_as_binary_after_the_json_header()
    {
        const int Rows = 2;
        var input = Images(Rows, 12);
        var (status, response, body) = await Post(BinaryBody(Header(Rows, Rows * 784 * 4, ",\"parameters\":{\"binary_data_output\":true}"), LittleEndian(input)));
        Assert.True(status == HttpStatusCode.OK, Encoding.UTF8.GetString(body));
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        int headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single());
        using var json = JsonDocument.Parse(body.AsMemory(0, headerLength));
        var outputs = json.RootElement.GetProperty("outputs");
        Assert.Equal("probabilities", outputs[0].GetProperty("name").GetString());
        Assert.Equal(Rows * 10 * 4, outputs[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt64());
        Assert.False(outputs[0].TryGetProperty("data", out _));
        Assert.Equal(Rows * 8, outputs[1].GetProperty("parameters").GetProperty("binary_data_size").GetInt64());
        Assert.Equal(headerLength + Rows * 10 * 4 + Rows * 8, body.Length);

        var expected = ServerFixture.DirectProbabilities(1, input, Rows);
        var probabilities = MemoryMarshal.Cast<byte, float>(body.AsSpan(headerLength, Rows * 10 * 4)).ToArray();
        AssertClose(expected, probabilities);
        var classes = MemoryMarshal.Cast<byte, long>(body.AsSpan(headerLength + Rows * 10 * 4, Rows * 8)).ToArray();
        for (int r = 0; r < Rows; r++)
            Assert.Equal(Array.IndexOf(expected, expected.AsSpan(r * 10, 10).ToArray().Max(), r * 10) - r * 10, classes[r]);
    }

    [Fact]
    public async Task An_output_binary_data_parameter_overrides_the_request_default_and_json_input_may_ask_for_binary_output()
    {
        var input = Images(1, 13);
        string request = "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,784],\"datatype\":\"FP32\",\"data\":[" +
            string.Join(",", input.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]}]," +
            "\"outputs\":[{\"name\":\"class\",\"parameters\":{\"binary_data\":true}},{\"name\":\"probabilities\",\"parameters\":{\"binary_data\":false}}]}";
        using var response = await server.Client.PostAsync(Path1, new StringContent(request, Encoding.UTF8, "application/json"));
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, Encoding.UTF8.GetString(body));
        int headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single());
        using var json = JsonDocument.Parse(body.AsMemory(0, headerLength));
        var outputs = json.RootElement.GetProperty("outputs");
        Assert.Equal("class", outputs[0].GetProperty("name").GetString());
        Assert.Equal(8, outputs[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt64());
        AssertClose(ServerFixture.DirectProbabilities(1, input, 1), outputs[1].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        Assert.Equal(headerLength + 8, body.Length);
    }

    [Theory]
    [InlineData("header longer than the body", "Inference-Header-Content-Length is 999999")]
    [InlineData("header not a number", "must be the positive length")]
    [InlineData("size does not match the bytes", "announces 100 bytes")]
    [InlineData("bytes do not match the shape", "the shape needs 784 FP32 values")]
    [InlineData("both data and binary", "both 'binary_data_size' and 'data'")]
    [InlineData("binary without size", "has no 'binary_data_size' parameter")]
    [InlineData("size not an integer", "must be a non-negative integer")]
    [InlineData("NaN in the binary data", "element 5 of the binary data is NaN")]
    [InlineData("binary_data not a boolean", "must be true or false")]
    public async Task Malformed_binary_requests_get_400_naming_what_is_wrong(string kind, string expected)
    {
        var row = Images(1, 14);
        byte[] bytes = LittleEndian(row);
        HttpContent content = kind switch
        {
            "header longer than the body" => BinaryBody(Header(1, bytes.Length), bytes, headerLength: "999999"),
            "header not a number" => BinaryBody(Header(1, bytes.Length), bytes, headerLength: "12a"),
            "size does not match the bytes" => BinaryBody(Header(1, 100), bytes),
            "bytes do not match the shape" => BinaryBody(Header(1, 400), bytes[..400]),
            "both data and binary" => BinaryBody(Header(1, bytes.Length, tensorExtra: ",\"data\":[1]"), bytes),
            "binary without size" => BinaryBody(Header(1, null), bytes),
            "size not an integer" => BinaryBody(Header(1, null, tensorExtra: ",\"parameters\":{\"binary_data_size\":\"3136\"}"), bytes),
            "NaN in the binary data" => BinaryBody(Header(1, bytes.Length), LittleEndian(row.Select((v, i) => i == 5 ? float.NaN : v).ToArray())),
            "binary_data not a boolean" => BinaryBody(Header(1, bytes.Length, ",\"outputs\":[{\"name\":\"class\",\"parameters\":{\"binary_data\":1}}]"), bytes),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var (status, _, body) = await Post(content);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        string error = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task A_binary_body_of_another_content_type_gets_415()
    {
        var bytes = LittleEndian(Images(1, 15));
        var (status, _, body) = await Post(BinaryBody(Header(1, bytes.Length), bytes, contentType: "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Contains("application/octet-stream", Encoding.UTF8.GetString(body));
    }
}
