using System.Buffers.Binary;
using AllReduceNet.Privacy.SecretSharing;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// The plaintext that client u encrypts to client v in ShareKeys: u, v, then v's share of u's mask key (5 field
/// elements for 32 bytes) and of u's self-mask seed (3 for 16 bytes). The ids inside are checked against the AES-GCM
/// associated data's, so a ciphertext cannot be replayed for another pair.
/// </summary>
internal static class SharePayload
{
    public const byte SelfMaskKind = 0, MaskKeyKind = 1;

    public static readonly int MaskKeyChunks = ShamirSecretSharing.ChunkCount(SecAggCrypto.PrivateKeyBytes);
    public static readonly int SelfMaskChunks = ShamirSecretSharing.ChunkCount(SecAggCrypto.SelfMaskSeedBytes);
    public static int Bytes => 8 + 8 * (MaskKeyChunks + SelfMaskChunks);

    public static byte[] Encode(int owner, int holder, ulong[] maskKey, ulong[] selfMask)
    {
        var bytes = new byte[Bytes];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, owner);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), holder);
        int offset = 8;
        foreach (ulong v in maskKey.Concat(selfMask))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), v);
            offset += 8;
        }
        return bytes;
    }

    public static (ulong[] MaskKey, ulong[] SelfMask) Decode(byte[] bytes, int owner, int holder, string who)
    {
        if (bytes.Length != Bytes)
            throw new PrivacyException($"{who}: decrypted shares from client {owner} are {bytes.Length} bytes, expected {Bytes}.");
        int o = BinaryPrimitives.ReadInt32LittleEndian(bytes), h = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        if (o != owner || h != holder)
            throw new PrivacyException($"{who}: decrypted shares name owner {o} and holder {h}, but came from client {owner} to client {holder}.");
        var maskKey = new ulong[MaskKeyChunks];
        var selfMask = new ulong[SelfMaskChunks];
        for (int i = 0; i < maskKey.Length; i++) maskKey[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8 + 8 * i));
        for (int i = 0; i < selfMask.Length; i++) selfMask[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(8 + 8 * (maskKey.Length + i)));
        return (maskKey, selfMask);
    }
}
