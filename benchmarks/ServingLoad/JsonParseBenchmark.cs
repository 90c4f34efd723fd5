using System.Globalization;
using System.Text.Json;

namespace AllReduceNet.Serving.LoadBenchmarks;

/// <summary>
/// The server's cost of reading one infer request's tensor: JsonDocument.Parse of the body and the server's own
/// TensorReader over its 'data', as InferRequest.Parse does, for one body file. A lower bound of the CPU time a
/// JSON request costs before any HTTP or forward-pass work.
/// </summary>
internal static class JsonParseBenchmark
{
    public static string Run(string name, string bodyPath)
    {
        if (File.Exists(bodyPath + ".header-length")) return RunBinary(name, bodyPath, int.Parse(File.ReadAllText(bodyPath + ".header-length"), CultureInfo.InvariantCulture));
        byte[] body = File.ReadAllBytes(bodyPath);
        long count;
        using (var document = JsonDocument.Parse(body))
        {
            var shape = document.RootElement.GetProperty("inputs")[0].GetProperty("shape");
            count = shape[0].GetInt64() * shape[1].GetInt64();
        }
        double seconds = Timing.MedianSecondsPerCall(() =>
        {
            using var document = JsonDocument.Parse(body);
            TensorReader.ReadFloats(document.RootElement.GetProperty("inputs")[0].GetProperty("data"), count, "input 'input'");
        });
        return string.Create(CultureInfo.InvariantCulture,
            $"name={name} body_bytes={body.Length} floats={count} us_per_request={seconds * 1e6:F1} requests_per_core_s={1 / seconds:F0}");
    }

    /// <summary>The same for a body of the binary tensor data extension: the JSON header parsed, the FP32 bytes read and checked.</summary>
    private static string RunBinary(string name, string bodyPath, int headerLength)
    {
        byte[] body = File.ReadAllBytes(bodyPath);
        long count = (body.Length - headerLength) / sizeof(float);
        double seconds = Timing.MedianSecondsPerCall(() =>
        {
            using var document = JsonDocument.Parse(body.AsMemory(0, headerLength));
            _ = BinaryTensorData.Size(document.RootElement.GetProperty("inputs")[0], "input 'input'");
            BinaryTensorData.ReadFloats(body.AsSpan(headerLength), count, "input 'input'");
        });
        return string.Create(CultureInfo.InvariantCulture,
            $"name={name} body_bytes={body.Length} floats={count} us_per_request={seconds * 1e6:F1} requests_per_core_s={1 / seconds:F0}");
    }
}
