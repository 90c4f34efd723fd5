using System.Buffers.Binary;
using System.IO.Compression;

namespace AllReduceNet.Training.Data;

/// <summary>
/// Reads the IDX files of MNIST and Fashion-MNIST, gzip-compressed: a big-endian header (magic 0x00000803 for
/// images with three dimensions, 0x00000801 for labels with one) followed by unsigned bytes. Every defect (missing
/// file, bad gzip, bad magic, truncation) is reported with the file's path.
/// </summary>
internal static class IdxReader
{
    private const int ImagesMagic = 0x00000803;
    private const int LabelsMagic = 0x00000801;

    /// <summary>Reads an image file: returns rows of pixels scaled to [0, 1] and the pixels per image.</summary>
    public static (float[] Pixels, int Count, int PixelsPerImage) ReadImages(string path)
    {
        byte[] data = ReadAll(path);
        int magic = Header(data, 0, path);
        if (magic != ImagesMagic)
            throw Damaged(path, $"its magic number is 0x{magic:x8}, but an IDX image file starts with 0x{ImagesMagic:x8}");
        int count = Header(data, 4, path), rows = Header(data, 8, path), cols = Header(data, 12, path);
        if (count < 0 || rows <= 0 || cols <= 0)
            throw Damaged(path, $"its header gives {count} images of {rows} x {cols} pixels");
        long expected = 16 + (long)count * rows * cols;
        if (data.Length < expected)
            throw Damaged(path, $"it is truncated: the header announces {count} images of {rows} x {cols} pixels ({expected} bytes), but it holds {data.Length} bytes");
        var pixels = new float[(long)count * rows * cols];
        for (long i = 0; i < pixels.Length; i++) pixels[i] = data[16 + i] / 255f;
        return (pixels, count, rows * cols);
    }

    /// <summary>Reads a label file.</summary>
    public static int[] ReadLabels(string path)
    {
        byte[] data = ReadAll(path);
        int magic = Header(data, 0, path);
        if (magic != LabelsMagic)
            throw Damaged(path, $"its magic number is 0x{magic:x8}, but an IDX label file starts with 0x{LabelsMagic:x8}");
        int count = Header(data, 4, path);
        if (count < 0) throw Damaged(path, $"its header gives {count} labels");
        if (data.Length < 8L + count)
            throw Damaged(path, $"it is truncated: the header announces {count} labels, but it holds {data.Length - 8} bytes of labels");
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = data[8 + i];
        return labels;
    }

    private static byte[] ReadAll(string path)
    {
        if (!File.Exists(path))
            throw new TrainingException($"data file '{path}' does not exist. {FashionMnist.HowToGet}");
        try
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var memory = new MemoryStream();
            gzip.CopyTo(memory);
            return memory.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw Damaged(path, $"it is not a valid gzip file ({e.Message})");
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw Damaged(path, $"reading it failed ({e.Message})");
        }
    }

    private static int Header(byte[] data, int offset, string path)
    {
        if (data.Length < offset + 4)
            throw Damaged(path, $"it is truncated: {data.Length} bytes is too short for the IDX header");
        return BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset, 4));
    }

    private static TrainingException Damaged(string path, string what) =>
        new($"data file '{path}' is damaged: {what}. {FashionMnist.HowToGet}");
}
