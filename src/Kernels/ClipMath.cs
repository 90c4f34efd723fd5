using System.Runtime.CompilerServices;

namespace AllReduceNet.Kernels;

/// <summary>The per-example clipping factor, shared by the ILGPU kernels and the CPU path.</summary>
internal static class ClipMath
{
    /// <summary>1 - 2^-20: clipped rows land a hair under C, so rounding in the norm never leaves one above C.</summary>
    private const float Shortfall = 1f - 1f / 1048576f;

    /// <summary>min(1, C / norm), with rows above C pulled back by <see cref="Shortfall"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scale(float norm, float clipNorm) => norm > clipNorm ? clipNorm / norm * Shortfall : 1f;
}
