using System.Runtime.CompilerServices;

namespace AllReduceNet.Kernels;

/// <summary>
/// Box-Muller: two independent uniforms give two independent standard normals, exactly (no rejection, no tail
/// truncation beyond the 24-bit grid of the uniforms: |z| &lt;= sqrt(-2 ln 2^-24) ~ 5.77).
/// One Philox block of four words yields four normals, so element k of a noise stream is lane k % 4 of block k / 4.
/// </summary>
public static class GaussianTransform
{
    private const float TwoToMinus24 = 1f / 16777216f;
    private const float TwoPi = 6.28318530717958647692f;

    /// <summary>Standard normal number <paramref name="lane"/> (0..3) of the four that <paramref name="block"/> gives.</summary>
    /// <param name="block">Four uniform words from Philox.</param>
    /// <param name="lane">0..3: lanes 0 and 1 come from words (0, 1), lanes 2 and 3 from words (2, 3).</param>
    /// <returns>A sample of N(0, 1).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Normal(UInt4 block, int lane)
    {
        uint a = lane < 2 ? block.X0 : block.X2;
        uint b = lane < 2 ? block.X1 : block.X3;
        // u1 in (0, 1] so the logarithm is finite; u2 in [0, 1).
        float u1 = ((a >> 8) + 1u) * TwoToMinus24;
        float u2 = (b >> 8) * TwoToMinus24;
        float r = MathF.Sqrt(-2f * MathF.Log(u1));
        float theta = TwoPi * u2;
        return (lane & 1) == 0 ? r * MathF.Cos(theta) : r * MathF.Sin(theta);
    }
}
