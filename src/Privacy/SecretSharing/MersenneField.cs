using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace AllReduceNet.Privacy.SecretSharing;

/// <summary>
/// Arithmetic modulo the Mersenne prime p = 2^61 - 1, the field of <see cref="ShamirSecretSharing"/>. A Mersenne prime
/// reduces a 122-bit product with a shift and an add, so no division is needed; 61 bits hold a 7-byte secret chunk.
/// </summary>
internal static class MersenneField
{
    /// <summary>The prime 2^61 - 1.</summary>
    public const ulong Prime = (1UL << 61) - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Add(ulong a, ulong b)
    {
        ulong r = a + b;
        return r >= Prime ? r - Prime : r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Subtract(ulong a, ulong b) => a >= b ? a - b : a + Prime - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Multiply(ulong a, ulong b)
    {
        UInt128 product = (UInt128)a * b;
        // x mod (2^61 - 1) = (x mod 2^61) + (x >> 61), folded once more if it reaches p.
        ulong r = ((ulong)product & Prime) + (ulong)(product >> 61);
        return r >= Prime ? r - Prime : r;
    }

    /// <summary>a^(p-2) = a^-1 for a != 0 (Fermat).</summary>
    public static ulong Inverse(ulong a)
    {
        if (a == 0) throw new PrivacyException("0 has no inverse modulo 2^61 - 1: two shares have the same x coordinate.");
        ulong result = 1, power = a, e = Prime - 2;
        while (e != 0)
        {
            if ((e & 1) != 0) result = Multiply(result, power);
            power = Multiply(power, power);
            e >>= 1;
        }
        return result;
    }

    /// <summary>A uniform element of [0, p) from the operating system's CSPRNG (rejection of the single value p).</summary>
    public static ulong Random()
    {
        Span<byte> bytes = stackalloc byte[8];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            ulong r = BitConverter.ToUInt64(bytes) & Prime;
            if (r != Prime) return r;
        }
    }
}
