using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// ECDSA P-256 over SHA-256 (System.Security.Cryptography), signatures in IEEE P1363 form (r then s, 64 bytes). What
/// a verifier signs is its verdict: the round, the previous block's hash and the accepted updates (peer and digest,
/// ascending), under a fixed domain string so a verdict signature cannot be replayed as anything else.
/// </summary>
internal static class LedgerSigning
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("AllReduceNet ledger verdict v1");

    public static ECDsa CreateKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The public point X then Y, 64 bytes, as genesis lists it.</summary>
    public static byte[] ExportPublic(ECDsa key)
    {
        var q = key.ExportParameters(includePrivateParameters: false).Q;
        if (q.X is not { Length: 32 } || q.Y is not { Length: 32 })
            throw new CryptographicException($"a P-256 key exported coordinates of {q.X?.Length} and {q.Y?.Length} bytes; 32 each were expected.");
        return [.. q.X, .. q.Y];
    }

    /// <exception cref="CryptographicException">The 64 bytes are not a point of P-256.</exception>
    public static ECDsa ImportPublic(byte[] xy) => ECDsa.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = xy[..32], Y = xy[32..64] },
    });

    /// <summary>The bytes a verifier signs for round <paramref name="round"/>.</summary>
    public static byte[] Verdict(long round, ReadOnlySpan<byte> previousHash, IReadOnlyList<AcceptedUpdate> accepted)
    {
        var message = new byte[Domain.Length + 8 + LedgerDigest.Bytes + 4 + accepted.Count * (4 + LedgerDigest.Bytes)];
        var span = message.AsSpan();
        Domain.CopyTo(span);
        int at = Domain.Length;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], round); at += 8;
        previousHash.CopyTo(span[at..]); at += LedgerDigest.Bytes;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], accepted.Count); at += 4;
        foreach (var a in accepted)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], a.Peer); at += 4;
            a.Digest.CopyTo(span[at..]); at += LedgerDigest.Bytes;
        }
        return message;
    }

    public static byte[] Sign(ECDsa key, byte[] message) =>
        key.SignData(message, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public static bool Verify(ECDsa publicKey, byte[] message, byte[] signature) =>
        signature.Length == LedgerBlockCodec.SignatureBytes &&
        publicKey.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
}
