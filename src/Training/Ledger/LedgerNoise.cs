using System.Buffers.Binary;
using System.Security.Cryptography;
using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// The noisers' DP noise (Biscotti's noising step). A noiser draws a fresh secret seed for each peer and round from
/// the OS's secure generator (<see cref="RandomNumberGenerator"/>, 256 bits); the peer expands it deterministically
/// into Gaussian noise: HKDF-SHA256 over the seed, bound to (round, noiser, peer), gives the 128-bit name of a
/// Philox4x32-10 stream, whose blocks go through the project's Box-Muller (<see cref="GaussianTransform"/>), element k
/// being lane k % 4 of block k / 4, the same stream as <see cref="PrivacyOps.AddGaussianNoise"/> of that key.
/// Deterministic, so the noiser and the peer can each regenerate the noise (to audit it); secret, because nobody
/// else holds the seed, so a verifier cannot subtract the noise from the delta it is shown.
/// </summary>
internal static class LedgerNoise
{
    /// <summary>Bytes of a noise seed.</summary>
    public const int SeedBytes = 32;

    private static readonly byte[] Label = "AllReduceNet ledger noise v1"u8.ToArray();

    /// <summary>A fresh secret seed from the OS's secure generator.</summary>
    public static byte[] NewSeed() => RandomNumberGenerator.GetBytes(SeedBytes);

    /// <summary>The Philox stream that <paramref name="seed"/> names for one (round, noiser, peer).</summary>
    /// <param name="seed">The noiser's secret seed, exactly <see cref="SeedBytes"/> bytes.</param>
    /// <param name="round">The ledger round.</param>
    /// <param name="noiser">The noiser's rank.</param>
    /// <param name="peer">The rank whose delta the noise goes on.</param>
    public static Seed128 StreamKey(ReadOnlySpan<byte> seed, long round, int noiser, int peer)
    {
        if (seed.Length != SeedBytes)
            throw new ArgumentException($"noise seed from noiser {noiser} for round {round} has {seed.Length} bytes, expected {SeedBytes}", nameof(seed));
        // Binding the context means a seed replayed to another round or peer names another stream.
        Span<byte> info = stackalloc byte[Label.Length + 16];
        Label.CopyTo(info);
        BinaryPrimitives.WriteInt64LittleEndian(info[Label.Length..], round);
        BinaryPrimitives.WriteInt32LittleEndian(info[(Label.Length + 8)..], noiser);
        BinaryPrimitives.WriteInt32LittleEndian(info[(Label.Length + 12)..], peer);
        Span<byte> key = stackalloc byte[16];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, seed, key, salt: [], info);
        return Seed128.FromBytes(key);
    }

    /// <summary>values[k] += standardDeviation · z_k, z the normals of <paramref name="key"/>'s stream.</summary>
    public static void Add(Span<float> values, Seed128 key, double standardDeviation)
    {
        float std = (float)standardDeviation;
        for (int start = 0; start < values.Length; start += 4)
        {
            var block = Philox4x32.StreamBlock(key, start / 4);
            for (int lane = 0; lane < 4 && start + lane < values.Length; lane++)
                values[start + lane] += std * GaussianTransform.Normal(block, lane);
        }
    }
}
