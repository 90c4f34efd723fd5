using System.Buffers.Binary;
using System.Security.Cryptography;
using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy.Tests.MaskedRing;

/// <summary>
/// <see cref="PairwiseMaskKeys"/>: the per-call seeds, made with one keyed HMAC per pair, are exactly RFC 5869's
/// HKDF-Expand(HKDF-Extract(salt, ECDH secret), 16 bytes, min | max | call), the same on both ends of a pair, and
/// different for every call and every pair.
/// </summary>
public class PairwiseMaskKeysTests
{
    [Fact]
    public void Seeds_AreHkdfExpandOfThePairKey_TheSameOnBothEnds_AndFreshPerCallAndPair()
    {
        const int ranks = 3, stride = PairwiseMaskKeys.PublicKeyBytes;
        var gathered = new byte[ranks * stride];
        var pairs = Enumerable.Range(0, ranks).Select(r => PairwiseMaskKeys.CreateKeyPair(gathered.AsSpan(r * stride, stride))).ToArray();
        var keys = Enumerable.Range(0, ranks)
            .Select(r => PairwiseMaskKeys.Agree(r, Enumerable.Range(0, ranks).Where(p => p != r).ToArray(), pairs[r], gathered, stride)).ToArray();
        long[] calls = [0, 1, 2, 255, 256, 1L << 40];
        var seen = new HashSet<Seed128>();
        for (int i = 0; i < ranks; i++)
            for (int j = i + 1; j < ranks; j++)
            {
                using var peer = P256Keys.ImportPublic(gathered.AsSpan(j * stride, stride), "test");
                byte[] pairKey = HKDF.Extract(HashAlgorithmName.SHA256, pairs[i].DeriveRawSecretAgreement(peer.PublicKey), PairwiseMaskKeys.Salt);
                foreach (long call in calls)
                {
                    var info = new byte[PairwiseMaskKeys.InfoBytes];
                    BinaryPrimitives.WriteInt32LittleEndian(info, i);
                    BinaryPrimitives.WriteInt32LittleEndian(info.AsSpan(4), j);
                    BinaryPrimitives.WriteInt64LittleEndian(info.AsSpan(8), call);
                    var expected = Seed128.FromBytes(HKDF.Expand(HashAlgorithmName.SHA256, pairKey, 16, info));
                    var fromI = keys[i].SeedFor(Array.IndexOf(keys[i].Peers.ToArray(), j), call);
                    var fromJ = keys[j].SeedFor(Array.IndexOf(keys[j].Peers.ToArray(), i), call);
                    Assert.Equal(expected, fromI);
                    Assert.Equal(expected, fromJ);
                    Assert.True(seen.Add(fromI), $"pair ({i}, {j}) call {call}: the seed repeats another call's or pair's");
                }
            }
        foreach (var pair in pairs) pair.Dispose();
    }
}
