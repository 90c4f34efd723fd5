using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// The cryptography of one round, all from System.Security.Cryptography: ECDH P-256 key pairs and raw agreements,
/// HKDF-SHA256 to turn agreed secrets into AES-GCM keys and Philox seeds (each with its own label, round and pair in
/// the info, so no two uses share a key), AES-GCM with the sender and receiver bound as associated data, and ECDSA
/// P-256 signatures over advertised keys.
/// </summary>
internal static class SecAggCrypto
{
    /// <summary>Bytes of an exchanged P-256 public key (<see cref="P256Keys"/>).</summary>
    public const int PublicKeyBytes = P256Keys.PublicKeyBytes;

    /// <summary>Bytes of a P-256 private scalar D, the mask key that is Shamir-shared.</summary>
    public const int PrivateKeyBytes = 32;

    /// <summary>Bytes of the self-mask seed b_u.</summary>
    public const int SelfMaskSeedBytes = 16;

    /// <summary>AES-GCM nonce and tag.</summary>
    public const int NonceBytes = 12, TagBytes = 16;

    /// <summary>An IEEE P1363 ECDSA P-256 signature.</summary>
    public const int SignatureBytes = 64;

    public static ECDiffieHellman NewKeyPair() => P256Keys.Create();

    public static byte[] ExportPublic(ECDiffieHellman key) => P256Keys.ExportPublic(key);

    /// <summary>Imports a peer's public key; a point that is not on the curve is a malformed message from <paramref name="who"/>.</summary>
    public static ECDiffieHellman ImportPublic(ReadOnlySpan<byte> xy, string who, string field)
    {
        if (xy.Length != PublicKeyBytes) throw new PrivacyException($"{who}: {field} is {xy.Length} bytes, expected {PublicKeyBytes}.");
        return P256Keys.ImportPublic(xy, $"{who}: {field}");
    }

    /// <summary>Rebuilds a private key from its reconstructed scalar and checks it against the advertised public key.</summary>
    public static ECDiffieHellman ImportPrivate(byte[] d, ReadOnlySpan<byte> publicXy, string who)
    {
        try
        {
            var key = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                D = d,
                Q = new ECPoint { X = publicXy[..32].ToArray(), Y = publicXy[32..].ToArray() },
            });
            return key;
        }
        catch (CryptographicException e)
        {
            throw new PrivacyException($"The mask key reconstructed for {who} does not match its advertised public key ({e.Message}): its shares were corrupted.", e);
        }
    }

    public static byte[] ExportPrivateScalar(ECDiffieHellman key) => key.ExportParameters(true).D!;

    /// <summary>The raw ECDH agreement (the shared point's X coordinate).</summary>
    public static byte[] Agree(ECDiffieHellman own, ECDiffieHellmanPublicKey peer) => own.DeriveRawSecretAgreement(peer);

    /// <summary>The Philox seed of the pair (a, b) in <paramref name="round"/>, from their mask-key agreement: the same for both.</summary>
    public static Seed128 PairSeed(byte[] agreement, int round, int a, int b) =>
        Seed128.FromBytes(HKDF.DeriveKey(HashAlgorithmName.SHA256, agreement, 16, salt: [], info: Info("pair-mask", round, Math.Min(a, b), Math.Max(a, b))));

    /// <summary>The Philox seed of client u's self-mask, from b_u.</summary>
    public static Seed128 SelfSeed(byte[] selfMaskSecret, int round, int client) =>
        Seed128.FromBytes(HKDF.DeriveKey(HashAlgorithmName.SHA256, selfMaskSecret, 16, salt: [], info: Info("self-mask", round, client, client)));

    /// <summary>The AES-256-GCM key of the channel between a and b, from their channel-key agreement.</summary>
    public static byte[] ChannelKey(byte[] agreement, int round, int a, int b) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, agreement, 32, salt: [], info: Info("share-channel", round, Math.Min(a, b), Math.Max(a, b)));

    /// <summary>nonce || ciphertext || tag, with (round, sender, receiver) as associated data.</summary>
    public static byte[] Seal(byte[] key, ReadOnlySpan<byte> plaintext, int round, int sender, int receiver)
    {
        var sealedBytes = new byte[NonceBytes + plaintext.Length + TagBytes];
        var nonce = sealedBytes.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceBytes, plaintext.Length), sealedBytes.AsSpan(NonceBytes + plaintext.Length), Associated(round, sender, receiver));
        return sealedBytes;
    }

    /// <summary>Decrypts and authenticates; a wrong key, a changed byte or a swapped sender/receiver is an error naming <paramref name="who"/>.</summary>
    public static byte[] Open(byte[] key, ReadOnlySpan<byte> sealedBytes, int round, int sender, int receiver, string who)
    {
        if (sealedBytes.Length < NonceBytes + TagBytes)
            throw new PrivacyException($"{who}: share ciphertext from client {sender} to client {receiver} is {sealedBytes.Length} bytes, shorter than nonce and tag.");
        int length = sealedBytes.Length - NonceBytes - TagBytes;
        var plaintext = new byte[length];
        using var aes = new AesGcm(key, TagBytes);
        try
        {
            aes.Decrypt(sealedBytes[..NonceBytes], sealedBytes.Slice(NonceBytes, length), sealedBytes[(NonceBytes + length)..], plaintext, Associated(round, sender, receiver));
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new PrivacyException($"{who}: share ciphertext from client {sender} to client {receiver} fails authentication (tampered, or not meant for this pair).", e);
        }
        return plaintext;
    }

    /// <summary>The bytes an advertisement's signature covers: label, round, client id and both public keys.</summary>
    public static byte[] AdvertisedBytes(int round, int client, ReadOnlySpan<byte> channelKey, ReadOnlySpan<byte> maskKey)
    {
        var label = Encoding.ASCII.GetBytes("AllReduceNet.SecAgg.advertise");
        var bytes = new byte[label.Length + 8 + channelKey.Length + maskKey.Length];
        label.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(label.Length), round);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(label.Length + 4), client);
        channelKey.CopyTo(bytes.AsSpan(label.Length + 8));
        maskKey.CopyTo(bytes.AsSpan(label.Length + 8 + channelKey.Length));
        return bytes;
    }

    public static byte[] Sign(ECDsa key, byte[] data) => key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>Checks client <paramref name="client"/>'s signature against its key in the PKI.</summary>
    public static void Verify(IReadOnlyDictionary<int, byte[]> pki, int client, byte[] data, ReadOnlySpan<byte> signature, string who)
    {
        if (!pki.TryGetValue(client, out var spki))
            throw new PrivacyException($"{who}: client {client} has no verification key in the PKI, so its keys cannot be trusted.");
        using var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportSubjectPublicKeyInfo(spki, out _);
        }
        catch (CryptographicException e)
        {
            throw new PrivacyException($"The PKI's verification key of client {client} is not a valid SubjectPublicKeyInfo ({e.Message}).", e);
        }
        if (!ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            throw new PrivacyException($"{who}: the signature on client {client}'s advertised keys does not verify against its PKI key: keys substituted or signed with another key.");
    }

    private static byte[] Info(string label, int round, int a, int b)
    {
        var text = Encoding.ASCII.GetBytes("AllReduceNet.SecAgg." + label);
        var info = new byte[text.Length + 12];
        text.CopyTo(info, 0);
        BinaryPrimitives.WriteInt32LittleEndian(info.AsSpan(text.Length), round);
        BinaryPrimitives.WriteInt32LittleEndian(info.AsSpan(text.Length + 4), a);
        BinaryPrimitives.WriteInt32LittleEndian(info.AsSpan(text.Length + 8), b);
        return info;
    }

    private static byte[] Associated(int round, int sender, int receiver)
    {
        var ad = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(ad, round);
        BinaryPrimitives.WriteInt32LittleEndian(ad.AsSpan(4), sender);
        BinaryPrimitives.WriteInt32LittleEndian(ad.AsSpan(8), receiver);
        return ad;
    }
}
