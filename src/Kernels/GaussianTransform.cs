using System.Runtime.CompilerServices;

namespace AllReduceNet.Kernels;

/// <summary>
/// Box-Muller: two independent uniforms give two independent standard normals, exactly (no rejection). The radius's
/// uniform takes all 32 bits of its word, u1 = (w + 1/2)·2⁻³² in (0, 1], so the smallest is 2⁻³³ and |z| reaches
/// sqrt(2·33·ln 2) ≈ 6.76: the tails are right well past 5σ (24-bit uniforms would cut them at 5.77). The angle is the
/// other word read as a signed integer, θ = w·π·2⁻³¹ in [-π, π).
/// One Philox block of four words yields four normals, so element k of a noise stream is lane k % 4 of block k / 4.
/// </summary>
internal static class GaussianTransform
{
    /// <summary>2⁻³²: scales a 32-bit word to [0, 1).</summary>
    internal const float TwoToMinus32 = 1f / 4294967296f;

    /// <summary>π·2⁻³¹: scales a signed 32-bit word to [-π, π).</summary>
    internal const float PiTimesTwoToMinus31 = 3.14159265358979323846f / 2147483648f;

    /// <summary>Standard normal number <paramref name="lane"/> (0..3) of the four that <paramref name="block"/> gives.</summary>
    /// <param name="block">Four uniform words from Philox.</param>
    /// <param name="lane">0..3: lanes 0 and 1 come from words (0, 1), lanes 2 and 3 from words (2, 3).</param>
    /// <returns>A sample of N(0, 1).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Normal(UInt4 block, int lane)
    {
        uint a = lane < 2 ? block.X0 : block.X2;
        uint b = lane < 2 ? block.X1 : block.X3;
        // u1 in (0, 1] so that the logarithm is finite.
        float u1 = ((float)a + 0.5f) * TwoToMinus32;
        float r = MathF.Sqrt(-2f * MathF.Log(u1));
        float theta = (int)b * PiTimesTwoToMinus31;
        return (lane & 1) == 0 ? r * MathF.Cos(theta) : r * MathF.Sin(theta);
    }
}
