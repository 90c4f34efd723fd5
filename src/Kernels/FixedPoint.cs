using System.Runtime.CompilerServices;

namespace AllReduceNet.Kernels;

/// <summary>
/// Scalar quantization helpers shared by the ILGPU kernels and the CPU path, so both round identically
/// (see <see cref="FixedPointFormat"/> for the format and its error bound).
/// </summary>
internal static class FixedPoint
{
    /// <summary>floor(clamp(x, -clip, clip) * scale + 1/2) in double: x * scale is exact (power of two) and so is the
    /// +1/2 at these magnitudes, so this is exact round-half-up. NaN maps to 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Quantize(float x, float clip, float scale)
    {
        // NaN fails both comparisons and maps to 0: a poisoned update must not break the masks' cancellation.
        float c = x >= -clip ? (x <= clip ? x : clip) : (x < -clip ? -clip : 0f);
        return (int)Math.Floor((double)c * scale + 0.5);
    }

    /// <summary>q / scale, computed in double and rounded once to float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dequantize(int q, float scale) => (float)(q / (double)scale);

    /// <summary>Mask word for element <paramref name="index"/> of the stream of <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Mask(Seed128 seed, int index) =>
        (int)Philox4x32.Lane(Philox4x32.StreamBlock(seed, index >> 2), index & 3);
}
