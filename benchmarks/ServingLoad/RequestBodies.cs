using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace AllReduceNet.Serving.LoadBenchmarks;

/// <summary>
/// Writes the infer request bodies of the load runs from the first Fashion-MNIST test images, as a client of an
/// exported model sends them: raw pixels 0..255 (the model's preprocess.json standardizes them on the server).
/// Also the same rows with the binary tensor data extension, and one row as standardized floats, the text a client that standardizes itself sends, for the parse timing.
/// </summary>
internal static class RequestBodies
{
    public const int Pixels = 784;

    public static void Write(string dataDirectory, string outDirectory)
    {
        byte[] images = ReadTestImages(Path.Combine(dataDirectory, "t10k-images-idx3-ubyte.gz"), 16);
        Directory.CreateDirectory(outDirectory);
        File.WriteAllText(Path.Combine(outDirectory, "infer-1.json"), Body(images, 1, p => p.ToString(CultureInfo.InvariantCulture)));
        File.WriteAllText(Path.Combine(outDirectory, "infer-16.json"), Body(images, 16, p => p.ToString(CultureInfo.InvariantCulture)));
        // The same rows with the binary tensor data extension: a JSON header, then the pixels as little-endian FP32.
        foreach (int rows in new[] { 1, 16 })
        {
            string header = $"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[{rows},{Pixels}],\"datatype\":\"FP32\",\"parameters\":{{\"binary_data_size\":{rows * Pixels * sizeof(float)}}}}}]}}";
            byte[] json = Encoding.UTF8.GetBytes(header);
            using var file = File.Create(Path.Combine(outDirectory, $"infer-{rows}.bin"));
            file.Write(json);
            var value = new byte[sizeof(float)];
            for (int i = 0; i < rows * Pixels; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(value, images[i]);
                file.Write(value);
            }
            // The header length travels beside the body: wrk sends it as Inference-Header-Content-Length.
            File.WriteAllText(Path.Combine(outDirectory, $"infer-{rows}.bin.header-length"), json.Length.ToString(CultureInfo.InvariantCulture));
        }
        // Fashion-MNIST's training mean and deviation (docs/serving.md).
        File.WriteAllText(Path.Combine(outDirectory, "infer-1-floats.json"),
            Body(images, 1, p => ((float)((p / 255.0 - 0.2860) / 0.3530)).ToString("R", CultureInfo.InvariantCulture)));
    }

    private static string Body(byte[] images, int rows, Func<byte, string> format)
    {
        var text = new StringBuilder($"{{\"inputs\":[{{\"name\":\"input\",\"shape\":[{rows},{Pixels}],\"datatype\":\"FP32\",\"data\":[");
        for (int i = 0; i < rows * Pixels; i++) text.Append(i == 0 ? "" : ",").Append(format(images[i]));
        return text.Append("]}]}").ToString();
    }

    /// <summary>The first <paramref name="count"/> images of an IDX image file (gzip): a 16-byte header, then bytes.</summary>
    private static byte[] ReadTestImages(string path, int count)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: install dataset-fashion-mnist (scripts/setup.sh) or pass another --data.", path);
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        var bytes = new byte[16 + count * Pixels];
        gzip.ReadExactly(bytes);
        if (bytes[2] != 0x08 || bytes[3] != 0x03) throw new InvalidDataException($"{path} is not an IDX image file (magic {bytes[2]:x2}{bytes[3]:x2}, expected 0803).");
        return bytes[16..];
    }
}
