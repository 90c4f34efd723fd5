using System.Buffers.Binary;
using System.Security.Cryptography;
using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy;

/// <summary>
/// The secrets behind the pairwise masks of a <see cref="MaskedAllReduce"/>: each rank makes an ECDH P-256 key pair,
/// the public keys travel by AllGather, and every pair (i, j) derives the same raw ECDH secret, condensed by
/// HKDF-Extract (SHA-256) into a pair key. The seed of call c is HKDF-Expand(pair key, 16 bytes,
/// info = min(i, j) | max(i, j) | c): fresh for every call, identical on both sides, and unknown to every other rank.
/// <para>
/// A 16-byte HKDF-Expand is the first half of one HMAC-SHA256(pair key, info | 0x01) (RFC 5869, T(1)), so each pair
/// keeps one keyed HMAC (<see cref="IncrementalHash"/>) and a call costs one MAC over 17 bytes: the same seeds as
/// <see cref="HKDF.Expand(HashAlgorithmName, ReadOnlySpan{byte}, Span{byte}, ReadOnlySpan{byte})"/> (tested) without
/// its per-call set-up, 0.6-0.8 us per peer instead of 1.6-2.1 us (benchmarks/RESULTS-federated.md, "maskspeed 7").
/// </para>
/// </summary>
internal sealed class PairwiseMaskKeys
{
    /// <summary>Bytes of one exchanged public key (<see cref="P256Keys"/>).</summary>
    internal const int PublicKeyBytes = P256Keys.PublicKeyBytes;

    /// <summary>Bytes of HKDF's info: min(i, j), max(i, j) (int32 each) and the call number (int64), little-endian.</summary>
    internal const int InfoBytes = 16;

    internal static readonly byte[] Salt = "AllReduceNet masked AllReduce v1"u8.ToArray();
    private readonly int _rank;
    private readonly int[] _peers;
    private readonly IncrementalHash[] _expanders;

    private PairwiseMaskKeys(int rank, int[] peers, IncrementalHash[] expanders)
    {
        _rank = rank;
        _peers = peers;
        _expanders = expanders;
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
        var expanders = new IncrementalHash[peers.Length];
        for (int p = 0; p < peers.Length; p++)
        {
            int peer = peers[p];
            var publicKey = gathered.Slice(peer * stride, PublicKeyBytes);
            using var other = P256Keys.ImportPublic(publicKey, $"rank {rank}: the public key that rank {peer} sent for the masked AllReduce");
            byte[] secret = mine.DeriveRawSecretAgreement(other.PublicKey);
            byte[] pairKey = HKDF.Extract(HashAlgorithmName.SHA256, secret, Salt);
            expanders[p] = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, pairKey);
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(pairKey);
        }
        return new PairwiseMaskKeys(rank, peers, expanders);
    }

    /// <summary>The seed this rank shares with peer number <paramref name="peerIndex"/> (in <see cref="Peers"/>) for call <paramref name="call"/>.</summary>
    public Seed128 SeedFor(int peerIndex, long call)
    {
        int peer = _peers[peerIndex];
        // info | 0x01: HKDF-Expand's first block (RFC 5869 2.3), of which the seed is the first 16 bytes.
        Span<byte> message = stackalloc byte[InfoBytes + 1];
        BinaryPrimitives.WriteInt32LittleEndian(message, Math.Min(_rank, peer));
        BinaryPrimitives.WriteInt32LittleEndian(message[4..], Math.Max(_rank, peer));
        BinaryPrimitives.WriteInt64LittleEndian(message[8..], call);
        message[InfoBytes] = 1;
        Span<byte> block = stackalloc byte[SHA256.HashSizeInBytes];
        var expander = _expanders[peerIndex];
        lock (expander)
        {
            expander.AppendData(message);
            expander.GetHashAndReset(block);
        }
        var seed = Seed128.FromBytes(block[..16]);
        CryptographicOperations.ZeroMemory(block);
        return seed;
    }
}
