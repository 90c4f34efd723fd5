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
    /// <summary>Bytes of one exchanged public key (<see cref="P256Keys"/>).</summary>
    internal const int PublicKeyBytes = P256Keys.PublicKeyBytes;

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
        var key = P256Keys.Create();
        P256Keys.WritePublic(key, publicKey);
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
            using var other = P256Keys.ImportPublic(publicKey, $"rank {rank}: the public key that rank {peer} sent for the masked AllReduce");
            byte[] secret = mine.DeriveRawSecretAgreement(other.PublicKey);
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
        return Seed128.FromBytes(seed);
    }
}
