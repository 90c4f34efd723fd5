using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy;

/// <summary>
/// Chooses the fixed-point format of a masked AllReduce and refuses one that could overflow: the true sum over N
/// ranks of values quantized to at most R x 2^f + 1/2 in magnitude must stay within 2^31 - 1, so that the sum modulo
/// 2^32 read as a signed integer is the true sum.
/// </summary>
internal static class MaskedFormat
{
    /// <exception cref="PrivacyException">The clip range or fractional bits are out of range, or could overflow for <paramref name="ranks"/> ranks.</exception>
    public static FixedPointFormat Choose(MaskedAllReduceOptions options, int ranks)
    {
        float clip = options.ClipRange;
        if (!(clip > 0) || !float.IsFinite(clip))
            throw new PrivacyException($"ClipRange must be finite and positive, but was {clip}.");
        int finest = FinestSafeBits(clip, ranks);
        if (finest < 0)
            throw new PrivacyException($"ClipRange {clip} cannot be summed over {ranks} ranks in 32 bits even with 0 fractional bits: {ranks} x ({clip} + 1/2) exceeds 2^31 - 1. Lower ClipRange.");
        if (options.FractionalBits is not int bits) return new FixedPointFormat(finest, clip, ranks);
        if (bits is < 0 or > 30)
            throw new PrivacyException($"FractionalBits must be in 0..30, but was {bits}.");
        if (bits > finest)
            throw new PrivacyException(
                $"FractionalBits {bits} with ClipRange {clip} can overflow the modulus 2^32 on {ranks} ranks: {ranks} x ({clip} x 2^{bits} + 1/2) = " +
                $"{Worst(clip, bits, ranks):E3} exceeds 2^31 - 1. Use at most {finest} fractional bits, or a smaller ClipRange.");
        return new FixedPointFormat(bits, clip, ranks);
    }

    /// <summary>The most fractional bits (at most 30) that cannot overflow, or -1 when none can.</summary>
    public static int FinestSafeBits(float clip, int ranks)
    {
        for (int bits = 30; bits >= 0; bits--)
            if (Worst(clip, bits, ranks) <= int.MaxValue) return bits;
        return -1;
    }

    private static double Worst(float clip, int bits, int ranks) => ranks * ((double)clip * Math.Pow(2, bits) + 0.5);
}
