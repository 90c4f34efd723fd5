using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AllReduceNet.Serving;

/// <summary>
/// Which variant a request goes to. A request that carries the sticky key (a user id) is placed by a hash of the
/// experiment's salt and the key, so the same user sees the same variant on every request, on every replica and
/// after restarts (string.GetHashCode is randomized per process, so SHA-256 is used); one without a key is drawn at random.
/// </summary>
internal static class StickyAssignment
{
    /// <summary>The point in [0, 1) that a key hashes to; the candidate takes the points below its share.</summary>
    public static double Point(string salt, string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(salt + "\n" + key), hash);
        // The top 53 bits: exactly representable as a double in [0, 1).
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>True when the candidate answers: the key's point (or a random one) falls below its percent.</summary>
    public static bool IsCandidate(string salt, string? key, double candidatePercent) =>
        (key is null ? Random.Shared.NextDouble() : Point(salt, key)) * 100 < candidatePercent;
}
