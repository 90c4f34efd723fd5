using System.Security.Cryptography;

namespace AllReduceNet.Privacy;

/// <summary>
/// ECDH P-256 keys as both privacy protocols exchange them (secure aggregation's advertised keys, the masked
/// AllReduce's gathered ones): the uncompressed point without its 0x04 prefix, X then Y, 32 bytes each.
/// </summary>
internal static class P256Keys
{
    /// <summary>Bytes of one exchanged public key.</summary>
    public const int PublicKeyBytes = 64;

    public static ECDiffieHellman Create() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>Writes <paramref name="key"/>'s public point into the first <see cref="PublicKeyBytes"/> of <paramref name="destination"/>.</summary>
    public static void WritePublic(ECDiffieHellman key, Span<byte> destination)
    {
        var q = key.ExportParameters(includePrivateParameters: false).Q;
        if (q.X is not { Length: 32 } || q.Y is not { Length: 32 })
            throw new PrivacyException($"the P-256 public key exported with coordinates of {q.X?.Length} and {q.Y?.Length} bytes; 32 each were expected.");
        q.X.CopyTo(destination);
        q.Y.CopyTo(destination[32..]);
    }

    public static byte[] ExportPublic(ECDiffieHellman key)
    {
        var bytes = new byte[PublicKeyBytes];
        WritePublic(key, bytes);
        return bytes;
    }

    /// <summary>Imports a peer's public key.</summary>
    /// <param name="xy">X then Y, <see cref="PublicKeyBytes"/> bytes.</param>
    /// <param name="what">Whose key and what it is, for the error: "client 3: mask key".</param>
    /// <exception cref="PrivacyException">The bytes are not a point of P-256.</exception>
    public static ECDiffieHellman ImportPublic(ReadOnlySpan<byte> xy, string what)
    {
        try
        {
            return ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = xy[..32].ToArray(), Y = xy[32..PublicKeyBytes].ToArray() },
            });
        }
        catch (CryptographicException e)
        {
            throw new PrivacyException($"{what} is not a valid P-256 public key ({e.Message}).", e);
        }
    }
}
