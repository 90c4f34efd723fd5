using System.Security.Cryptography;
using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;
using AllReduceNet.Privacy.SecretSharing;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// One client of secure aggregation (Bonawitz et al. 2017; SecAgg+ with <see cref="SecureAggregationSettings.Neighbors"/>).
/// Each stage is one call that takes the server's message (bytes) and returns the client's reply (bytes); the round
/// number is in every message, and every message from the server is parsed defensively. A <see cref="PrivacyException"/>
/// from any call means this client refuses to go on with the round (it then counts as a dropout); the next round's
/// <see cref="AdvertiseKeys"/> starts afresh with new keys. One object per simulated client; not thread-safe.
/// </summary>
public sealed class SecAggClient : IDisposable
{
    private readonly SecureAggregationSettings _settings;
    private readonly ECDsa? _signingKey;
    private readonly string _who;
    private RoundState? _state;

    /// <summary>Creates client <paramref name="id"/>.</summary>
    /// <param name="id">The client's id, 0 or more and below int.MaxValue; its Shamir x coordinate is id + 1.</param>
    /// <param name="settings">The settings all parties share.</param>
    /// <param name="signingKey">The client's ECDSA P-256 key, required when the settings have a PKI.</param>
    /// <exception cref="ArgumentException">The id is out of range, or a PKI is set and the signing key is missing.</exception>
    public SecAggClient(int id, SecureAggregationSettings settings, ECDsa? signingKey = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfEqual(id, int.MaxValue);
        if (settings.VerificationKeys is not null && signingKey is null)
            throw new ArgumentException($"client {id}: the settings have a PKI, so the client needs its signing key.", nameof(signingKey));
        Id = id;
        _settings = settings;
        _signingKey = signingKey;
        _who = $"client {id}";
    }

    /// <summary>The client's id.</summary>
    public int Id { get; }

    /// <summary>
    /// Stage 0: fresh ECDH P-256 key pairs c (channel) and s (mask) and a fresh self-mask seed b_u for
    /// <paramref name="round"/>; returns the advertisement (both public keys, signed when a PKI is set).
    /// </summary>
    /// <param name="round">The round number; every message of the round carries it.</param>
    /// <returns>The AdvertiseKeys message for the server.</returns>
    public byte[] AdvertiseKeys(int round)
    {
        _state?.Dispose();
        _state = new RoundState(round);
        var channel = SecAggCrypto.ExportPublic(_state.ChannelKey);
        var mask = SecAggCrypto.ExportPublic(_state.MaskKey);
        var writer = new WireWriter(MessageKind.AdvertiseKeys, round, Id);
        writer.WriteBytes(channel);
        writer.WriteBytes(mask);
        writer.WriteBlob(_signingKey is null ? [] : SecAggCrypto.Sign(_signingKey, SecAggCrypto.AdvertisedBytes(round, Id, channel, mask)));
        return writer.ToArray();
    }

    /// <summary>
    /// Stage 1: reads the server's key broadcast (the clients that advertised, the SecAgg+ graph seed, and the
    /// neighbours' keys), verifies signatures under a PKI, splits the mask key s_u and the self-mask seed b_u into
    /// t-of-(neighbours + 1) Shamir shares, and encrypts each neighbour's pair of shares to it with AES-GCM.
    /// </summary>
    /// <param name="keysBroadcast">The server's KeysBroadcast message for this client.</param>
    /// <returns>The ShareKeys message for the server (one ciphertext per neighbour).</returns>
    /// <exception cref="PrivacyException">The message is malformed, a key or signature is invalid, or fewer than t clients advertised.</exception>
    public byte[] ShareKeys(byte[] keysBroadcast)
    {
        var state = Expect(RoundState.Phase.Advertised, "ShareKeys");
        var reader = new WireReader(keysBroadcast, $"{_who}: message from the server", MessageKind.KeysBroadcast, state.Round, WireWriter.ServerId);
        ulong graphSeed = reader.ReadUInt64("graph seed");
        var advertised = reader.ReadIds("advertised clients", _settings.Format.MaxClients);
        if (!advertised.Contains(Id)) throw reader.Fail($"the advertised clients do not include this client ({Id})");
        if (advertised.Length < _settings.Threshold)
            throw new PrivacyException($"{_who}: only {advertised.Length} clients advertised keys in round {state.Round}, fewer than the threshold {_settings.Threshold}: refusing to share keys.");
        Array.Sort(advertised);
        state.Graph = NeighbourGraph.Build(advertised, _settings.Neighbors, graphSeed);
        var neighbours = state.Graph.Of(Id);
        int count = reader.ReadCount("neighbour key count", neighbours.Length, neighbours.Length);
        for (int i = 0; i < count; i++)
        {
            int v = reader.ReadInt32("neighbour id");
            if (Array.BinarySearch(neighbours, v) < 0) throw reader.Fail($"it carries keys of client {v}, which is not a neighbour");
            if (state.Peers.ContainsKey(v)) throw reader.Fail($"it carries keys of client {v} twice");
            var channel = reader.ReadBytes(SecAggCrypto.PublicKeyBytes, $"channel key of client {v}").ToArray();
            var mask = reader.ReadBytes(SecAggCrypto.PublicKeyBytes, $"mask key of client {v}").ToArray();
            var signature = reader.ReadBlob($"signature of client {v}", SecAggCrypto.SignatureBytes);
            if (_settings.VerificationKeys is { } pki)
                SecAggCrypto.Verify(pki, v, SecAggCrypto.AdvertisedBytes(state.Round, v, channel, mask), signature, _who);
            state.Peers[v] = new Peer(
                SecAggCrypto.ImportPublic(channel, $"{_who}: key broadcast", $"channel key of client {v}"),
                SecAggCrypto.ImportPublic(mask, $"{_who}: key broadcast", $"mask key of client {v}"));
        }
        reader.ExpectEnd();

        // Shares go to the neighbours and to the client itself (x = id + 1), t-of-(neighbours + 1).
        var holders = neighbours.Append(Id).ToArray();
        var xs = holders.Select(h => h + 1).ToArray();
        var maskKeyShares = ShamirSecretSharing.Split(SecAggCrypto.ExportPrivateScalar(state.MaskKey), _settings.Threshold, xs);
        var selfMaskShares = ShamirSecretSharing.Split(state.SelfMaskSecret, _settings.Threshold, xs);
        var writer = new WireWriter(MessageKind.ShareKeys, state.Round, Id, 64 + neighbours.Length * 160);
        writer.WriteInt32(neighbours.Length);
        for (int h = 0; h < holders.Length; h++)
        {
            int v = holders[h];
            var payload = SharePayload.Encode(Id, v, maskKeyShares[h].Values, selfMaskShares[h].Values);
            if (v == Id)
            {
                state.ReceivedShares[Id] = (maskKeyShares[h].Values, selfMaskShares[h].Values);
                continue;
            }
            var peer = state.Peers[v];
            var key = SecAggCrypto.ChannelKey(SecAggCrypto.Agree(state.ChannelKey, peer.ChannelPublic), state.Round, Id, v);
            peer.ChannelSecret = key;
            writer.WriteInt32(v);
            writer.WriteBlob(SecAggCrypto.Seal(key, payload, state.Round, Id, v));
        }
        state.Current = RoundState.Phase.SharedKeys;
        return writer.ToArray();
    }

    /// <summary>
    /// Stage 2: reads the relayed share ciphertexts (their senders are the neighbours still in the round), decrypts and
    /// keeps them, then returns y_u = x_u + PRG(b_u) + sum over those neighbours v of ±PRG(s_uv) mod 2^32 (+ for v &gt; u).
    /// </summary>
    /// <param name="sharesRelay">The server's SharesRelay message for this client.</param>
    /// <param name="quantizedInput">The client's fixed-point input (see <see cref="Quantize"/>), settings.VectorLength
    /// words, each a two's-complement value within ±settings.QuantizedBound.</param>
    /// <returns>The MaskedInput message for the server.</returns>
    /// <exception cref="PrivacyException">The message is malformed, a ciphertext fails authentication, an input word is
    /// out of range, or fewer than t holders of this client's shares remain.</exception>
    public byte[] MaskedInput(byte[] sharesRelay, ReadOnlySpan<uint> quantizedInput)
    {
        var state = Expect(RoundState.Phase.SharedKeys, "MaskedInput");
        if (quantizedInput.Length != _settings.VectorLength)
            throw new PrivacyException($"{_who}: input has {quantizedInput.Length} elements, the settings say {_settings.VectorLength}.");
        var reader = new WireReader(sharesRelay, $"{_who}: message from the server", MessageKind.SharesRelay, state.Round, WireWriter.ServerId);
        var neighbours = state.Graph!.Of(Id);
        int count = reader.ReadCount("relayed share count", 0, neighbours.Length);
        for (int i = 0; i < count; i++)
        {
            int v = reader.ReadInt32("sender id");
            if (!state.Peers.TryGetValue(v, out var peer)) throw reader.Fail($"it relays shares from client {v}, which is not a neighbour");
            if (state.ReceivedShares.ContainsKey(v)) throw reader.Fail($"it relays shares from client {v} twice");
            var ciphertext = reader.ReadBlob($"ciphertext from client {v}", 4096);
            var plaintext = SecAggCrypto.Open(peer.ChannelSecret!, ciphertext, state.Round, v, Id, _who);
            state.ReceivedShares[v] = SharePayload.Decode(plaintext, v, Id, _who);
        }
        reader.ExpectEnd();
        if (state.ReceivedShares.Count < _settings.Threshold)
            throw new PrivacyException($"{_who}: only {state.ReceivedShares.Count} holders of its shares (itself included) remain in round {state.Round}, fewer than the threshold {_settings.Threshold}: refusing to send a masked input.");

        // A pooled buffer: the masked vector is as large as the model, and 100 simulated clients would each allocate it.
        int[] words = System.Buffers.ArrayPool<int>.Shared.Rent(quantizedInput.Length);
        try
        {
            int bound = (int)_settings.QuantizedBound;
            for (int k = 0; k < quantizedInput.Length; k++)
            {
                int q = (int)quantizedInput[k];
                // |q| <= bound as one unsigned comparison: q + bound in [0, 2 bound].
                if ((uint)(q + bound) > (uint)(2 * bound))
                    throw new PrivacyException($"{_who}: input element {k} is {q}, beyond the quantized range ±{bound} of the format (clip {_settings.Format.ClipRange}, 2^{_settings.Format.FractionalBits} steps per unit): the sum could overflow 2^32.");
                words[k] = q;
            }
            return MaskAndWrite(state, words);
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(words);
        }
    }

    private byte[] MaskAndWrite(RoundState state, int[] words)
    {
        int length = _settings.VectorLength;
        var streams = new List<MaskPeer>(state.ReceivedShares.Count) { MaskExpander.Stream(SecAggCrypto.SelfSeed(state.SelfMaskSecret, state.Round, Id), 1) };
        foreach (int v in state.ReceivedShares.Keys)
        {
            if (v == Id) continue;
            var agreement = SecAggCrypto.Agree(state.MaskKey, state.Peers[v].MaskPublic);
            // +PRG(s_uv) for v > u and -PRG(s_uv) for v < u: each pair's two terms cancel in the sum.
            streams.Add(MaskExpander.Stream(SecAggCrypto.PairSeed(agreement, state.Round, Id, v), v > Id ? 1 : -1));
        }
        MaskExpander.AddMasks(words, length, streams.ToArray(), Environment.ProcessorCount);
        var writer = new WireWriter(MessageKind.MaskedInput, state.Round, Id, WireWriter.HeaderBytes + 4 * length);
        writer.WriteWords(words.AsSpan(0, length));
        state.Current = RoundState.Phase.SentInput;
        return writer.ToArray();
    }

    /// <summary>Stage 2 with a float input: quantizes it with the settings' format (<see cref="Quantize"/>), then masks it.</summary>
    /// <param name="sharesRelay">The server's SharesRelay message for this client.</param>
    /// <param name="update">The float update, settings.VectorLength values.</param>
    /// <returns>The MaskedInput message for the server.</returns>
    /// <exception cref="PrivacyException">As <see cref="MaskedInput(byte[], ReadOnlySpan{uint})"/>.</exception>
    public byte[] MaskedInput(byte[] sharesRelay, ReadOnlySpan<float> update) =>
        MaskedInput(sharesRelay, Quantize(update, _settings.Format));

    /// <summary>
    /// Stage 3: reads the list of clients whose masked inputs the server holds (U3). For each holder of shares it has
    /// (neighbours and itself) it returns the self-mask share if that client is in U3, or the mask-key share if not,
    /// never both.
    /// </summary>
    /// <param name="unmaskRequest">The server's UnmaskRequest message for this client.</param>
    /// <returns>The UnmaskShares message for the server.</returns>
    /// <exception cref="PrivacyException">The message is malformed, lists fewer than t survivors, omits this client, or
    /// claims a neighbour survived whose shares this client never received.</exception>
    public byte[] Unmask(byte[] unmaskRequest)
    {
        var state = Expect(RoundState.Phase.SentInput, "Unmask");
        var reader = new WireReader(unmaskRequest, $"{_who}: message from the server", MessageKind.UnmaskRequest, state.Round, WireWriter.ServerId);
        var survivors = reader.ReadIds("survivors", _settings.Format.MaxClients).ToHashSet();
        reader.ExpectEnd();
        if (!survivors.Contains(Id)) throw reader.Fail($"the survivors do not include this client ({Id})");
        if (survivors.Count < _settings.Threshold)
            throw new PrivacyException($"{_who}: only {survivors.Count} clients sent masked inputs in round {state.Round}, fewer than the threshold {_settings.Threshold}: refusing to unmask.");
        foreach (int v in state.Graph!.Of(Id))
            if (survivors.Contains(v) && !state.ReceivedShares.ContainsKey(v))
                throw reader.Fail($"it lists client {v} as a survivor, but client {v} never shared keys with this client");

        var writer = new WireWriter(MessageKind.UnmaskShares, state.Round, Id, 64 + state.ReceivedShares.Count * 64);
        writer.WriteInt32(state.ReceivedShares.Count);
        foreach (var (v, shares) in state.ReceivedShares)
        {
            bool survived = survivors.Contains(v);
            writer.WriteInt32(v);
            writer.WriteByte(survived ? SharePayload.SelfMaskKind : SharePayload.MaskKeyKind);
            foreach (ulong value in survived ? shares.SelfMask : shares.MaskKey) writer.WriteUInt64(value);
        }
        state.Current = RoundState.Phase.Done;
        return writer.ToArray();
    }

    /// <summary>
    /// Quantizes a float update with <paramref name="format"/> (the kernels' fixed point: clip to ±ClipRange, scale by
    /// 2^FractionalBits, round half up), as two's-complement words.
    /// </summary>
    /// <param name="update">The float update.</param>
    /// <param name="format">The fixed-point format.</param>
    /// <returns>One word per element.</returns>
    public static uint[] Quantize(ReadOnlySpan<float> update, FixedPointFormat format)
    {
        var q = new int[update.Length];
        VectorQuantizer.Quantize(update, q, format.ClipRange, format.Scale);
        var words = new uint[q.Length];
        q.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<uint, int>(words.AsSpan()));
        return words;
    }

    /// <summary>Releases the current round's keys.</summary>
    public void Dispose()
    {
        _state?.Dispose();
        _state = null;
    }

    private RoundState Expect(RoundState.Phase phase, string call)
    {
        if (_state is null || _state.Current != phase)
            throw new PrivacyException($"{_who}: {call} called out of order (the client is {(_state is null ? "not in a round" : $"at {_state.Current} of round {_state.Round}")}).");
        return _state;
    }

    /// <summary>A neighbour's imported keys (the key objects own them; PublicKey handles are taken once and kept).</summary>
    private sealed class Peer(ECDiffieHellman channel, ECDiffieHellman mask) : IDisposable
    {
        public ECDiffieHellmanPublicKey ChannelPublic { get; } = channel.PublicKey;
        public ECDiffieHellmanPublicKey MaskPublic { get; } = mask.PublicKey;
        public byte[]? ChannelSecret { get; set; }

        public void Dispose()
        {
            ChannelPublic.Dispose();
            MaskPublic.Dispose();
            channel.Dispose();
            mask.Dispose();
        }
    }

    private sealed class RoundState : IDisposable
    {
        public enum Phase { Advertised, SharedKeys, SentInput, Done }

        public RoundState(int round)
        {
            Round = round;
            ChannelKey = SecAggCrypto.NewKeyPair();
            MaskKey = SecAggCrypto.NewKeyPair();
            SelfMaskSecret = RandomNumberGenerator.GetBytes(SecAggCrypto.SelfMaskSeedBytes);
        }

        public int Round { get; }
        public Phase Current { get; set; }
        public ECDiffieHellman ChannelKey { get; }
        public ECDiffieHellman MaskKey { get; }
        public byte[] SelfMaskSecret { get; }
        public NeighbourGraph? Graph { get; set; }
        public Dictionary<int, Peer> Peers { get; } = [];

        /// <summary>Shares this client holds, by owner (itself included): the owner's mask-key and self-mask shares.</summary>
        public Dictionary<int, (ulong[] MaskKey, ulong[] SelfMask)> ReceivedShares { get; } = [];

        public void Dispose()
        {
            ChannelKey.Dispose();
            MaskKey.Dispose();
            CryptographicOperations.ZeroMemory(SelfMaskSecret);
            foreach (var peer in Peers.Values) peer.Dispose();
        }
    }
}
