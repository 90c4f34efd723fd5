using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace AllReduceNet.Training.Ledger;

/// <summary>SHA-256 digests as the ledger uses them: of float vectors (their little-endian bytes), of byte strings, and a short hex form for messages.</summary>
internal static class LedgerDigest
{
    /// <summary>Bytes of one digest.</summary>
    public const int Bytes = 32;

    public static byte[] Of(ReadOnlySpan<byte> data) => SHA256.HashData(data);

    /// <summary>The digest of a float vector's IEEE little-endian bytes (the machines this runs on are little-endian).</summary>
    public static byte[] Of(ReadOnlySpan<float> values) => SHA256.HashData(MemoryMarshal.AsBytes(values));

    /// <summary>The first 8 bytes in hex: enough to name a block or a model in a message.</summary>
    public static string Short(ReadOnlySpan<byte> digest) => Convert.ToHexString(digest[..Math.Min(8, digest.Length)]).ToLowerInvariant();

    public static string Hex(ReadOnlySpan<byte> digest) => Convert.ToHexString(digest).ToLowerInvariant();
}
