namespace AllReduceNet.Privacy.Tests.MaskedRing;

/// <summary>Plain scalar reference of the masked AllReduce: quantize each rank's input, sum in 64 bits, dequantize.</summary>
internal static class MaskedReference
{
    /// <summary>Rank r's input: values in [-1.5 R, 1.5 R], so some are clipped, and a few exact halves of a step.</summary>
    public static float[] Input(int rank, int count, float clip, int seed = 0)
    {
        var rng = new Random(seed * 7919 + rank * 104729 + count);
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)((rng.NextDouble() * 3 - 1.5) * clip);
        return x;
    }

    public static int Quantize(float x, float clip, int bits) =>
        (int)Math.Floor((double)Math.Clamp(x, -clip, clip) * Math.Pow(2, bits) + 0.5);

    /// <summary>The plain sum of the quantized inputs, dequantized; throws when the true sum leaves 32 bits.</summary>
    public static float[] QuantizedSum(IReadOnlyList<float[]> inputs, float clip, int bits)
    {
        int count = inputs[0].Length;
        var result = new float[count];
        for (int i = 0; i < count; i++)
        {
            long sum = 0;
            foreach (var x in inputs) sum += Quantize(x[i], clip, bits);
            Assert.InRange(sum, int.MinValue, int.MaxValue);
            result[i] = (float)(sum / Math.Pow(2, bits));
        }
        return result;
    }

    /// <summary>Index of the first element whose bits differ, or -1.</summary>
    public static int FirstDifference(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i])) return i;
        return -1;
    }

    /// <summary>Pearson's chi-square of the top byte of each word against the uniform distribution (255 degrees of freedom).</summary>
    public static double ChiSquareOfTopByte(ReadOnlySpan<int> words)
    {
        var bins = new long[256];
        foreach (int w in words) bins[(uint)w >> 24]++;
        double expected = words.Length / 256.0, chi = 0;
        foreach (long b in bins) chi += (b - expected) * (b - expected) / expected;
        return chi;
    }
}
