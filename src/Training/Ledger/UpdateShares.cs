using System.Buffers.Binary;
using AllReduceNet.Privacy.SecretSharing;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// How a peer's update is secret-shared among the round's aggregators, with the Shamir pieces of src/Privacy. The
/// update <c>[n_k delta_k, n_k]</c> is quantized to fixed point with <see cref="FractionalBits"/> bits, each value q
/// clamped to ±2^46 and stored offset by 2^47 in 7 bytes, which is exactly one Shamir chunk (one field element
/// modulo 2^61 - 1). Shamir sharing is linear, so an aggregator that adds the shares it holds, element-wise modulo
/// the prime, holds a share of the sum; any t such sums give back the sum of the contributors' encodings, and since
/// up to 256 peers' offsets (each below 2^48) stay below 2^56, no chunk wraps. No single aggregator (nor any t - 1)
/// learns anything about one update. The digest that verifiers sign is the SHA-256 of the encoding.
/// </summary>
internal static class UpdateShares
{
    /// <summary>Fixed-point fractional bits: 2^-24 resolution, values up to 2^22 in magnitude.</summary>
    public const int FractionalBits = 24;

    /// <summary>Peers whose summed offsets still fit one 56-bit chunk.</summary>
    public const int MaxPeers = 256;

    private const long Offset = 1L << 47, Limit = 1L << 46;
    private const int ValueBytes = ShamirSecretSharing.ChunkBytes;

    /// <summary>The 7-byte-per-value encoding of <paramref name="vector"/>.</summary>
    public static byte[] Encode(ReadOnlySpan<float> vector)
    {
        var bytes = new byte[vector.Length * ValueBytes];
        Span<byte> word = stackalloc byte[8];
        double scale = Math.ScaleB(1.0, FractionalBits);
        for (int i = 0; i < vector.Length; i++)
        {
            double scaled = Math.Round(vector[i] * scale, MidpointRounding.ToEven);
            long q = double.IsNaN(scaled) ? 0 : (long)Math.Clamp(scaled, -Limit, Limit);
            BinaryPrimitives.WriteInt64LittleEndian(word, q + Offset);
            word[..ValueBytes].CopyTo(bytes.AsSpan(i * ValueBytes));
        }
        return bytes;
    }

    /// <summary>The float vector an encoding stands for (what the sum of one contributor would decode to).</summary>
    public static float[] Decode(ReadOnlySpan<byte> encoded, int contributors)
    {
        var sum = DecodeSum(encoded, contributors);
        return sum.Select(v => (float)v).ToArray();
    }

    /// <summary>Shares of <paramref name="encoded"/> for aggregators at x = 1 .. <paramref name="aggregators"/>.</summary>
    public static ShamirShare[] Split(byte[] encoded, int threshold, int aggregators) =>
        ShamirSecretSharing.Split(encoded, threshold, aggregators);

    /// <summary>Adds <paramref name="share"/> into <paramref name="sum"/> element-wise modulo 2^61 - 1.</summary>
    public static void AddInto(ulong[] sum, ReadOnlySpan<ulong> share)
    {
        if (share.Length != sum.Length) throw new ArgumentException($"a share of {share.Length} values cannot be added to a sum of {sum.Length}.", nameof(share));
        for (int i = 0; i < sum.Length; i++) sum[i] = MersenneField.Add(sum[i], share[i]);
    }

    /// <summary>The sum of <paramref name="contributors"/> encodings of <paramref name="length"/> values, from t summed shares.</summary>
    /// <exception cref="AllReduceNet.Privacy.PrivacyException">The shares are too few or inconsistent.</exception>
    public static double[] Reconstruct(IReadOnlyList<ShamirShare> summedShares, int threshold, int length, int contributors)
    {
        var bytes = ShamirSecretSharing.Reconstruct(summedShares, threshold, length * ValueBytes);
        return DecodeSum(bytes, contributors);
    }

    private static double[] DecodeSum(ReadOnlySpan<byte> bytes, int contributors)
    {
        int length = bytes.Length / ValueBytes;
        var result = new double[length];
        Span<byte> word = stackalloc byte[8];
        double scale = Math.ScaleB(1.0, -FractionalBits);
        for (int i = 0; i < length; i++)
        {
            word.Clear();
            bytes.Slice(i * ValueBytes, ValueBytes).CopyTo(word);
            long q = BinaryPrimitives.ReadInt64LittleEndian(word) - contributors * Offset;
            result[i] = q * scale;
        }
        return result;
    }
}
