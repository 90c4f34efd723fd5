using System.Globalization;

namespace AllReduceNet.Serving.Tests;

/// <summary>Request bodies the tests send: seeded images and the JSON of the Open Inference Protocol and /predict.</summary>
internal static class RequestBodies
{
    /// <summary>Seeded pseudo-images: rows x 784 floats in [0, 1).</summary>
    public static float[] Images(int rows, int seed)
    {
        var random = new Random(seed);
        var values = new float[rows * 784];
        for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble();
        return values;
    }

    /// <summary>A JSON array of the values, each written so that it reads back as the same float.</summary>
    public static string Floats(IEnumerable<float> values) =>
        "[" + string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";

    /// <summary>An inference request of the Open Inference Protocol: one FP32 input tensor [rows, 784].</summary>
    public static string Infer(float[] input, int rows, string? id = null) =>
        $"{{{(id is null ? "" : $"\"id\":\"{id}\",")}\"inputs\":[{{\"name\":\"input\",\"shape\":[{rows},784],\"datatype\":\"FP32\",\"data\":{Floats(input)}}}]}}";

    /// <summary>A /predict request: <c>{"instances": [[784 floats], ...]}</c>.</summary>
    public static string Predict(float[] input, int rows) =>
        "{\"instances\":[" + string.Join(",", Enumerable.Range(0, rows).Select(r => Floats(input.Skip(r * 784).Take(784)))) + "]}";
}
