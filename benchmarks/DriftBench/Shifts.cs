namespace AllReduceNet.Serving.DriftBenchmarks;

/// <summary>The shifts streamed after the change point, on raw 28 x 28 images of bytes 0..255 (what a client sends).</summary>
internal static class Shifts
{
    public const int Side = 28;

    /// <summary>Contrast then brightness: x' = clamp(contrast x + brightness, 0, 255).</summary>
    public static float[] BrightnessContrast(ReadOnlySpan<float> image, double contrast, double brightness)
    {
        var result = new float[image.Length];
        for (int i = 0; i < image.Length; i++) result[i] = (float)Math.Clamp(contrast * image[i] + brightness, 0, 255);
        return result;
    }

    /// <summary>Rotation by <paramref name="degrees"/> about the image centre, bilinear, background 0.</summary>
    public static float[] Rotate(ReadOnlySpan<float> image, double degrees)
    {
        var result = new float[image.Length];
        double angle = degrees * Math.PI / 180, cos = Math.Cos(angle), sin = Math.Sin(angle), centre = (Side - 1) / 2.0;
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                // The source point that lands on (x, y).
                double dx = x - centre, dy = y - centre;
                double sx = cos * dx + sin * dy + centre, sy = -sin * dx + cos * dy + centre;
                int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                double fx = sx - x0, fy = sy - y0, value = 0;
                for (int j = 0; j <= 1; j++)
                    for (int i = 0; i <= 1; i++)
                    {
                        int px = x0 + i, py = y0 + j;
                        if (px is < 0 or >= Side || py is < 0 or >= Side) continue;
                        value += image[py * Side + px] * (i == 0 ? 1 - fx : fx) * (j == 0 ? 1 - fy : fy);
                    }
                result[y * Side + x] = (float)value;
            }
        return result;
    }
}
