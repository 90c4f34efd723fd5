using System.Security.Cryptography;

namespace AllReduceNet.Training.Privacy;

/// <summary>
/// Standard normal numbers from the operating system's cryptographically secure generator
/// (<see cref="RandomNumberGenerator"/>), as Opacus' secure_mode: Box-Muller over pairs of 53-bit uniforms, in
/// double precision. Unlike a seeded generator, nobody (not even with the run's seeds) can reproduce or predict it.
/// </summary>
internal static class SecureGaussian
{
    private const double TwoToMinus53 = 1.0 / 9007199254740992.0;

    /// <summary>destination[k] += standardDeviation · z_k with fresh secure normals z_k.</summary>
    public static void Add(Span<float> destination, double standardDeviation)
    {
        int pairs = (destination.Length + 1) / 2;
        // Pooled: a step draws a parameter vector's worth of words per tensor, and a fresh array each time is GC churn.
        ulong[] rented = System.Buffers.ArrayPool<ulong>.Shared.Rent(2 * pairs);
        try
        {
            var words = rented.AsSpan(0, 2 * pairs);
            RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(words));
            for (int p = 0; p < pairs; p++)
            {
                // u1 in (0, 1] so that the logarithm is finite; u2 in [0, 1).
                double u1 = ((words[2 * p] >> 11) + 1) * TwoToMinus53;
                double u2 = (words[2 * p + 1] >> 11) * TwoToMinus53;
                double r = Math.Sqrt(-2 * Math.Log(u1)), theta = 2 * Math.PI * u2;
                destination[2 * p] += (float)(standardDeviation * r * Math.Cos(theta));
                if (2 * p + 1 < destination.Length) destination[2 * p + 1] += (float)(standardDeviation * r * Math.Sin(theta));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<ulong>.Shared.Return(rented, clearArray: true);
        }
    }
}
