namespace AllReduceNet.Training.Compression;

/// <summary>
/// bfloat16 as raw bits (.NET has no bfloat16 arithmetic type): the top 16 bits of a float, so the same range as
/// fp32 with 8 bits of mantissa. Conversion rounds to nearest, ties to even; NaN stays a (quiet) NaN, infinities stay
/// infinite, and a finite value that rounds past the largest bfloat16 becomes infinite, as in hardware.
/// </summary>
internal static class BFloat16
{
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
