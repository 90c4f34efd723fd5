using System.Buffers.Binary;
using System.IO.Compression;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>
/// Fashion-MNIST for the lifecycle tests: subsets written as IDX files (so that Train.dll trains briefly through its
/// ordinary --data option) and raw test images (bytes 0..255 as floats, what a client sends) for the request stream.
/// </summary>
internal static class FashionData
{
    public const string Directory = "/usr/share/datasets/fashion-mnist";
    public const int Pixels = 784;

    public static void RequireInstalled()
    {
        if (!File.Exists(Path.Combine(Directory, "t10k-images-idx3-ubyte.gz")))
            throw new InvalidOperationException($"Fashion-MNIST is not in {Directory}: install it with scripts/setup.sh (apt-get install dataset-fashion-mnist).");
    }

    /// <summary>Writes the first <paramref name="train"/> training and <paramref name="test"/> test samples as IDX files into <paramref name="target"/>.</summary>
    public static void WriteSubset(string target, int train, int test)
    {
        System.IO.Directory.CreateDirectory(target);
        foreach (var (prefix, count) in new[] { ("train", train), ("t10k", test) })
        {
            byte[] images = Read($"{prefix}-images-idx3-ubyte.gz"), labels = Read($"{prefix}-labels-idx1-ubyte.gz");
            var imageHeader = images[..16];
            BinaryPrimitives.WriteInt32BigEndian(imageHeader.AsSpan(4), count);
            var labelHeader = labels[..8];
            BinaryPrimitives.WriteInt32BigEndian(labelHeader.AsSpan(4), count);
            Write(Path.Combine(target, $"{prefix}-images-idx3-ubyte.gz"), [.. imageHeader, .. images.AsSpan(16, count * Pixels)]);
            Write(Path.Combine(target, $"{prefix}-labels-idx1-ubyte.gz"), [.. labelHeader, .. labels.AsSpan(8, count)]);
        }
    }

    /// <summary>Test images [first, first + count) as raw pixel values, with their labels.</summary>
    public static (float[][] Images, int[] Labels) TestImages(int first, int count)
    {
        byte[] images = Read("t10k-images-idx3-ubyte.gz"), labels = Read("t10k-labels-idx1-ubyte.gz");
        var result = new float[count][];
        var classes = new int[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = new float[Pixels];
            for (int p = 0; p < Pixels; p++) result[i][p] = images[16 + (first + i) * Pixels + p];
            classes[i] = labels[8 + first + i];
        }
        return (result, classes);
    }

    private static byte[] Read(string file)
    {
        using var stream = new GZipStream(File.OpenRead(Path.Combine(Directory, file)), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    private static void Write(string path, byte[] bytes)
    {
        using var stream = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        stream.Write(bytes);
    }
}
