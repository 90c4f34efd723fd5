using System.Buffers.Binary;
using System.Security.Cryptography;
using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy;

/// <summary>
/// The secrets behind the pairwise masks of a <see cref="MaskedAllReduce"/>: each rank makes an ECDH P-256 key pair,
/// the public keys travel by AllGather, and every pair (i, j) derives the same raw ECDH secret, condensed by
/// HKDF-Extract (SHA-256) into a pair key. The seed of call c is HKDF-Expand(pair key, 16 bytes,
/// info = min(i, j) | max(i, j) | c): fresh for every call, identical on both sides, and unknown to every other rank.
/// </summary>
internal sealed class PairwiseMaskKeys
{
    /// <summary>Bytes of one uncompressed P-256 public key as exchanged: X then Y, 32 bytes each.</summary>
    internal const int PublicKeyBytes = 64;

    private static readonly byte[] Salt = "AllReduceNet masked AllReduce v1"u8.ToArray();
    private readonly int _rank;
    private readonly int[] _peers;
    private readonly byte[][] _pairKeys;

    private PairwiseMaskKeys(int rank, int[] peers, byte[][] pairKeys)
    {
        _rank = rank;
        _peers = peers;
        _pairKeys = pairKeys;
    }

    /// <summary>This rank's peers, ascending.</summary>
    public ReadOnlySpan<int> Peers => _peers;

    /// <summary>A fresh P-256 key pair and its public key in the exchanged layout.</summary>
    public static ECDiffieHellman CreateKeyPair(Span<byte> publicKey)
    {
        var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var q = key.ExportParameters(includePrivateParameters: false).Q;
        if (q.X is not { Length: 32 } || q.Y is not { Length: 32 })
            throw new PrivacyException($"the P-256 public key exported with coordinates of {q.X?.Length} and {q.Y?.Length} bytes; 32 each were expected.");
        q.X.CopyTo(publicKey);
        q.Y.CopyTo(publicKey[32..]);
        return key;
    }

    /// <summary>Agrees a pair key with every peer from the gathered public keys (rank r's at r x stride).</summary>
    /// <exception cref="PrivacyException">A peer's public key is not a point of P-256; names the peer.</exception>
    public static PairwiseMaskKeys Agree(int rank, int[] peers, ECDiffieHellman mine, ReadOnlySpan<byte> gathered, int stride)
    {
        var pairKeys = new byte[peers.Length][];
        for (int p = 0; p < peers.Length; p++)
        {
            int peer = peers[p];
            var publicKey = gathered.Slice(peer * stride, PublicKeyBytes);
            byte[] secret;
            try
            {
                using var other = ECDiffieHellman.Create(new ECParameters
                {
                    Curve = ECCurve.NamedCurves.nistP256,
                    Q = new ECPoint { X = publicKey[..32].ToArray(), Y = publicKey[32..].ToArray() },
                });
                secret = mine.DeriveRawSecretAgreement(other.PublicKey);
            }
            catch (CryptographicException e)
            {
                throw new PrivacyException($"rank {rank}: the public key that rank {peer} sent for the masked AllReduce is not a valid P-256 point: {e.Message}", e);
            }
            pairKeys[p] = HKDF.Extract(HashAlgorithmName.SHA256, secret, Salt);
            CryptographicOperations.ZeroMemory(secret);
        }
        return new PairwiseMaskKeys(rank, peers, pairKeys);
    }

    /// <summary>The seed this rank shares with peer number <paramref name="peerIndex"/> (in <see cref="Peers"/>) for call <paramref name="call"/>.</summary>
    public Seed128 SeedFor(int peerIndex, long call)
    {
        int peer = _peers[peerIndex];
        Span<byte> info = stackalloc byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(info, Math.Min(_rank, peer));
        BinaryPrimitives.WriteInt32LittleEndian(info[4..], Math.Max(_rank, peer));
        BinaryPrimitives.WriteInt64LittleEndian(info[8..], call);
        Span<byte> seed = stackalloc byte[16];
        HKDF.Expand(HashAlgorithmName.SHA256, _pairKeys[peerIndex], seed, info);
        return new Seed128(BinaryPrimitives.ReadUInt32LittleEndian(seed), BinaryPrimitives.ReadUInt32LittleEndian(seed[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(seed[8..]), BinaryPrimitives.ReadUInt32LittleEndian(seed[12..]));
    }
}
