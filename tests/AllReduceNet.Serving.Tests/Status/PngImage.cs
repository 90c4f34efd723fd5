using System.Buffers.Binary;
using System.IO.Compression;

namespace AllReduceNet.Serving.Tests.Status;

/// <summary>A minimal PNG decoder for checking screenshots: 8-bit greyscale, RGB or RGBA, not interlaced (what Chromium
/// writes). Checks the signature, reads IHDR, inflates the IDAT chunks and undoes the five row filters.</summary>
internal sealed class PngImage
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    private PngImage(int width, int height, int channels, byte[] pixels) => (Width, Height, Channels, Pixels) = (width, height, channels, pixels);

    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }

    /// <summary>Row-major, <see cref="Channels"/> bytes per pixel.</summary>
    public byte[] Pixels { get; }

    /// <exception cref="InvalidDataException">Not a PNG this reader handles; the message says why.</exception>
    public static PngImage Read(byte[] file)
    {
        if (file.Length < 33 || !file.AsSpan(0, 8).SequenceEqual(Signature)) throw new InvalidDataException("not a PNG: the signature is missing.");
        int width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        for (int at = 8; at + 12 <= file.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(file, at + 4, 4);
            var data = file.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                byte depth = data[8], colour = data[9], interlace = data[12];
                channels = colour switch { 0 => 1, 2 => 3, 6 => 4, _ => throw new InvalidDataException($"PNG colour type {colour} is not handled.") };
                if (depth != 8 || interlace != 0) throw new InvalidDataException($"PNG bit depth {depth}, interlace {interlace}: only 8-bit, non-interlaced is handled.");
            }
            else if (type == "IDAT") idat.Write(data);
            else if (type == "IEND") break;
            at += 12 + length;
        }
        if (width <= 0 || height <= 0) throw new InvalidDataException("PNG without a valid IHDR.");
        idat.Position = 0;
        using var inflater = new ZLibStream(idat, CompressionMode.Decompress);
        int stride = width * channels;
        var raw = new byte[(stride + 1) * height];
        inflater.ReadExactly(raw);
        var pixels = new byte[stride * height];
        for (int y = 0; y < height; y++)
        {
            byte filter = raw[y * (stride + 1)];
            var line = raw.AsSpan(y * (stride + 1) + 1, stride);
            var output = pixels.AsSpan(y * stride, stride);
            var previous = y == 0 ? new byte[stride] : pixels.AsSpan((y - 1) * stride, stride);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? output[i - channels] : 0, b = previous[i], c = i >= channels ? previous[i - channels] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG row {y} has filter {filter}."),
                };
                output[i] = (byte)(line[i] + predictor);
            }
        }
        return new PngImage(width, height, channels, pixels);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>The RGB colour of a pixel as one integer (greyscale repeated).</summary>
    public int Colour(int x, int y)
    {
        int at = (y * Width + x) * Channels;
        return Channels == 1 ? Pixels[at] * 0x010101 : Pixels[at] << 16 | Pixels[at + 1] << 8 | Pixels[at + 2];
    }
}
