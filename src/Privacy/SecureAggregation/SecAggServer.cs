using System.Numerics.Tensors;
using AllReduceNet.Kernels;
using AllReduceNet.Privacy.SecretSharing;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// The server of one secure aggregation round. It relays keys and encrypted shares, adds the masked inputs as they
/// arrive, and at the end reconstructs the survivors' self-mask seeds and the dropouts' mask keys to remove every mask,
/// leaving exactly the sum of the survivors' quantized inputs modulo 2^32.
/// <para>
/// Use: for each stage, <see cref="Receive"/> every client's message, then call the stage's Complete method, which
/// returns the messages for the next stage, one per client still in the round. A client that does not send counts as
/// dropped at that stage. A malformed or out-of-place message (short, wrong kind, wrong round, bad key, duplicates...)
/// makes <see cref="Receive"/> throw a <see cref="PrivacyException"/> that names the client and what was wrong; the
/// server then treats that client as dropped at that stage (it is in <see cref="Rejected"/>) and goes on. Each
/// Complete method throws <see cref="SecureAggregationAbortedException"/> when fewer than t clients remain (or a
/// secret cannot be reconstructed): the round is over and nothing of the sum is revealed. Not thread-safe.
/// </para>
/// </summary>
public sealed class SecAggServer
{
    private readonly SecureAggregationSettings _settings;
    private readonly ulong _graphSeed;
    private readonly SortedSet<int> _sampled;
    private readonly Dictionary<int, (byte[] Channel, byte[] Mask, byte[] Signature)> _keys = [];
    private readonly Dictionary<int, List<(int Sender, byte[] Ciphertext)>> _relay = [];
    private readonly Dictionary<int, List<ShamirShare>> _selfMaskShares = [];
    private readonly Dictionary<int, List<ShamirShare>> _maskKeyShares = [];
    private readonly Dictionary<int, string> _rejected = [];
    private SortedSet<int> _expected;
    private readonly SortedSet<int> _received = [];
    private readonly List<int[]> _survivorsByStage = [];
    private NeighbourGraph? _graph;
    private int[] _sum = [];
    private int[] _scratch = [];
    private bool _aborted;
    private int _stageParticipants;

    /// <summary>Starts round <paramref name="round"/> over the sampled clients.</summary>
    /// <param name="settings">The settings all parties share.</param>
    /// <param name="round">The round number that every message must carry.</param>
    /// <param name="sampledClients">Ids of the clients sampled for the round (distinct, 0 or more).</param>
    /// <param name="graphSeed">Public seed of SecAgg+'s neighbour graph (sent to the clients); ignored by full SecAgg.</param>
    /// <exception cref="PrivacyException">The settings do not fit this many clients (overflow of 2^32, threshold).</exception>
    /// <exception cref="ArgumentException">An id is negative, int.MaxValue or repeated.</exception>
    public SecAggServer(SecureAggregationSettings settings, int round, IReadOnlyCollection<int> sampledClients, ulong graphSeed)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(sampledClients);
        _sampled = [.. sampledClients];
        if (_sampled.Count != sampledClients.Count) throw new ArgumentException("sampledClients repeats an id.", nameof(sampledClients));
        if (_sampled.Count > 0 && (_sampled.Min < 0 || _sampled.Max == int.MaxValue))
            throw new ArgumentException($"client ids must be in [0, int.MaxValue), got {_sampled.Min}..{_sampled.Max}.", nameof(sampledClients));
        settings.CheckRound(_sampled.Count);
        _settings = settings;
        Round = round;
        _graphSeed = graphSeed;
        _expected = new SortedSet<int>(_sampled);
        _stageParticipants = _expected.Count;
    }

    /// <summary>The round number.</summary>
    public int Round { get; }

    /// <summary>The stage whose messages <see cref="Receive"/> accepts now.</summary>
    public SecAggStage Stage { get; private set; }

    /// <summary>Clients whose message was refused, with the reason; they count as dropped at that stage.</summary>
    public IReadOnlyDictionary<int, string> Rejected => _rejected;

    /// <summary>Ids of the clients that completed each finished stage, in stage order (U1, U2, U3, U4 of the paper).</summary>
    public IReadOnlyList<int[]> SurvivorsByStage => _survivorsByStage;

    /// <summary>Accepts client <paramref name="clientId"/>'s message for the current <see cref="Stage"/>.</summary>
    /// <param name="clientId">Who sent it (the transport's word, checked against the message's sender field).</param>
    /// <param name="message">The bytes as received.</param>
    /// <exception cref="PrivacyException">The message is malformed, of the wrong kind or round, a duplicate, or from a
    /// client not expected at this stage; the client is then dropped for the rest of the round.</exception>
    /// <exception cref="InvalidOperationException">The round was aborted or is finished.</exception>
    public void Receive(int clientId, ReadOnlySpan<byte> message)
    {
        if (_aborted || _survivorsByStage.Count == 4) throw new InvalidOperationException($"round {Round} is {(_aborted ? "aborted" : "finished")}; start a new server for the next round.");
        string who = $"client {clientId} (round {Round}, stage {Stage})";
        try
        {
            if (!_expected.Contains(clientId))
                throw new PrivacyException($"{who}: not expected at this stage ({(_rejected.TryGetValue(clientId, out var why) ? "rejected earlier: " + why : _sampled.Contains(clientId) ? "dropped at an earlier stage" : "not sampled for this round")}).");
            if (_received.Contains(clientId)) throw new PrivacyException($"{who}: sent a second message for this stage.");
            switch (Stage)
            {
                case SecAggStage.AdvertiseKeys: ReceiveAdvertise(clientId, message, who); break;
                case SecAggStage.ShareKeys: ReceiveShares(clientId, message, who); break;
                case SecAggStage.MaskedInput: ReceiveMaskedInput(clientId, message, who); break;
                default: ReceiveUnmask(clientId, message, who); break;
            }
            _received.Add(clientId);
        }
        catch (PrivacyException e)
        {
            if (_expected.Remove(clientId)) _rejected[clientId] = e.Message;
            throw;
        }
    }

    /// <summary>Closes stage 0: builds the neighbour graph over the clients that advertised and returns each one's key broadcast.</summary>
    /// <returns>Client id to its KeysBroadcast message.</returns>
    /// <exception cref="SecureAggregationAbortedException">Fewer than t clients advertised keys.</exception>
    public IReadOnlyDictionary<int, byte[]> CompleteAdvertiseKeys()
    {
        var survivors = CloseStage(SecAggStage.AdvertiseKeys);
        _graph = NeighbourGraph.Build(survivors, _settings.Neighbors, _graphSeed);
        var messages = new Dictionary<int, byte[]>();
        foreach (int u in survivors)
        {
            var neighbours = _graph.Of(u);
            var writer = new WireWriter(MessageKind.KeysBroadcast, Round, WireWriter.ServerId, 64 + survivors.Length * 4 + neighbours.Length * 200);
            writer.WriteUInt64(_graphSeed);
            writer.WriteIds(survivors);
            writer.WriteInt32(neighbours.Length);
            foreach (int v in neighbours)
            {
                var (channel, mask, signature) = _keys[v];
                writer.WriteInt32(v);
                writer.WriteBytes(channel);
                writer.WriteBytes(mask);
                writer.WriteBlob(signature);
            }
            messages[u] = writer.ToArray();
        }
        return messages;
    }

    /// <summary>Closes stage 1: returns each remaining client's relayed ciphertexts (those from its neighbours that shared).</summary>
    /// <returns>Client id to its SharesRelay message.</returns>
    /// <exception cref="SecureAggregationAbortedException">Fewer than t clients shared keys.</exception>
    public IReadOnlyDictionary<int, byte[]> CompleteShareKeys()
    {
        var survivors = CloseStage(SecAggStage.ShareKeys);
        var messages = new Dictionary<int, byte[]>();
        foreach (int v in survivors)
        {
            var incoming = _relay.TryGetValue(v, out var list) ? list.Where(e => _expected.Contains(e.Sender)).ToList() : [];
            var writer = new WireWriter(MessageKind.SharesRelay, Round, WireWriter.ServerId, 64 + incoming.Count * 160);
            writer.WriteInt32(incoming.Count);
            foreach (var (sender, ciphertext) in incoming)
            {
                writer.WriteInt32(sender);
                writer.WriteBlob(ciphertext);
            }
            messages[v] = writer.ToArray();
        }
        _relay.Clear();
        _sum = new int[_settings.VectorLength];
        _scratch = new int[_settings.VectorLength];
        return messages;
    }

    /// <summary>Closes stage 2: returns each client that sent a masked input the list of those that did (U3).</summary>
    /// <returns>Client id to its UnmaskRequest message.</returns>
    /// <exception cref="SecureAggregationAbortedException">Fewer than t clients sent masked inputs.</exception>
    public IReadOnlyDictionary<int, byte[]> CompleteMaskedInput()
    {
        var survivors = CloseStage(SecAggStage.MaskedInput);
        _scratch = [];
        var messages = new Dictionary<int, byte[]>();
        foreach (int u in survivors)
        {
            var writer = new WireWriter(MessageKind.UnmaskRequest, Round, WireWriter.ServerId, 64 + survivors.Length * 4);
            writer.WriteIds(survivors);
            messages[u] = writer.ToArray();
        }
        return messages;
    }

    /// <summary>
    /// Closes stage 3: reconstructs b_v of every survivor v and the mask key of every client that shared keys but sent
    /// no masked input, removes all masks, and returns the sum.
    /// </summary>
    /// <returns>The sum of the survivors' quantized inputs modulo 2^32, and who they are.</returns>
    /// <exception cref="SecureAggregationAbortedException">Fewer than t clients sent shares, or fewer than t shares of some secret arrived.</exception>
    public SecureAggregationResult CompleteUnmasking()
    {
        CloseStage(SecAggStage.Unmasking);
        var shared = _survivorsByStage[1];
        var survivors = _survivorsByStage[2];
        var survivorSet = survivors.ToHashSet();
        var streams = new List<MaskPeer>();
        try
        {
            foreach (int v in survivors)
            {
                var secret = Reconstruct(_selfMaskShares, v, SecAggCrypto.SelfMaskSeedBytes, "self-mask seed");
                streams.Add(MaskExpander.Stream(SecAggCrypto.SelfSeed(secret, Round, v), -1));
            }
            foreach (int v in shared)
            {
                if (survivorSet.Contains(v)) continue;
                var scalar = Reconstruct(_maskKeyShares, v, SecAggCrypto.PrivateKeyBytes, "mask key");
                using var maskKey = SecAggCrypto.ImportPrivate(scalar, _keys[v].Mask, $"client {v}");
                foreach (int u in _graph!.Of(v))
                {
                    if (!survivorSet.Contains(u)) continue;
                    using var peer = SecAggCrypto.ImportPublic(_keys[u].Mask, $"client {u}", "mask key");
                    using var peerPublic = peer.PublicKey;
                    var seed = SecAggCrypto.PairSeed(SecAggCrypto.Agree(maskKey, peerPublic), Round, u, v);
                    // Survivor u added +PRG(s_uv) if v > u, else -PRG(s_uv); take that term away.
                    streams.Add(MaskExpander.Stream(seed, v > u ? -1 : 1));
                }
            }
        }
        catch (PrivacyException e) when (e is not SecureAggregationAbortedException)
        {
            _aborted = true;
            throw new SecureAggregationAbortedException(SecAggStage.Unmasking, $"Round {Round} aborted at unmasking: {e.Message}");
        }
        MaskExpander.AddMasks(_sum, _sum.Length, streams.ToArray(), Environment.ProcessorCount);
        var sum = new uint[_sum.Length];
        _sum.AsSpan().CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<uint, int>(sum.AsSpan()));
        _sum = [];
        return new SecureAggregationResult(Round, sum, survivors, _settings.Format);
    }

    private void ReceiveAdvertise(int u, ReadOnlySpan<byte> message, string who)
    {
        var reader = new WireReader(message, who, MessageKind.AdvertiseKeys, Round, u);
        var channel = reader.ReadBytes(SecAggCrypto.PublicKeyBytes, "channel public key").ToArray();
        var mask = reader.ReadBytes(SecAggCrypto.PublicKeyBytes, "mask public key").ToArray();
        var signature = reader.ReadBlob("signature", SecAggCrypto.SignatureBytes).ToArray();
        reader.ExpectEnd();
        if (channel.AsSpan().SequenceEqual(mask)) throw reader.Fail("the channel and mask public keys are equal");
        // Both keys must be points on the curve; importing checks that.
        SecAggCrypto.ImportPublic(channel, who, "channel public key").Dispose();
        SecAggCrypto.ImportPublic(mask, who, "mask public key").Dispose();
        if (_settings.VerificationKeys is { } pki)
            SecAggCrypto.Verify(pki, u, SecAggCrypto.AdvertisedBytes(Round, u, channel, mask), signature, who);
        _keys[u] = (channel, mask, signature);
    }

    private void ReceiveShares(int u, ReadOnlySpan<byte> message, string who)
    {
        var reader = new WireReader(message, who, MessageKind.ShareKeys, Round, u);
        var neighbours = _graph!.Of(u);
        int count = reader.ReadCount("ciphertext count", neighbours.Length, neighbours.Length);
        var entries = new List<(int, byte[])>(count);
        var seen = new HashSet<int>();
        for (int i = 0; i < count; i++)
        {
            int v = reader.ReadInt32("receiver id");
            if (Array.BinarySearch(neighbours, v) < 0) throw reader.Fail($"it addresses a ciphertext to client {v}, not a neighbour");
            if (!seen.Add(v)) throw reader.Fail($"it addresses two ciphertexts to client {v}");
            var ciphertext = reader.ReadBlob($"ciphertext to client {v}", 4096);
            int expected = SecAggCrypto.NonceBytes + SharePayload.Bytes + SecAggCrypto.TagBytes;
            if (ciphertext.Length != expected) throw reader.Fail($"the ciphertext to client {v} is {ciphertext.Length} bytes, expected {expected}");
            entries.Add((v, ciphertext.ToArray()));
        }
        reader.ExpectEnd();
        foreach (var (v, ciphertext) in entries)
        {
            if (!_relay.TryGetValue(v, out var list)) _relay[v] = list = [];
            list.Add((u, ciphertext));
        }
    }

    private void ReceiveMaskedInput(int u, ReadOnlySpan<byte> message, string who)
    {
        var reader = new WireReader(message, who, MessageKind.MaskedInput, Round, u);
        // Into scratch first: a message that turns out short must leave the running sum untouched.
        reader.ReadWords(_scratch, "masked input");
        reader.ExpectEnd();
        TensorPrimitives.Add<int>(_sum, _scratch, _sum);
    }

    private void ReceiveUnmask(int u, ReadOnlySpan<byte> message, string who)
    {
        var reader = new WireReader(message, who, MessageKind.UnmaskShares, Round, u);
        var shared = _survivorsByStage[1];
        var survivors = _survivorsByStage[2];
        // The owners whose shares u holds: its neighbours that shared keys, and itself.
        var owners = _graph!.Of(u).Where(v => Array.BinarySearch(shared, v) >= 0).Append(u).ToHashSet();
        int count = reader.ReadCount("share count", owners.Count, owners.Count);
        var entries = new List<(int Owner, bool SelfMask, ulong[] Values)>(count);
        var seen = new HashSet<int>();
        for (int i = 0; i < count; i++)
        {
            int v = reader.ReadInt32("owner id");
            if (!owners.Contains(v)) throw reader.Fail($"it sends a share of client {v}, whose shares it does not hold");
            if (!seen.Add(v)) throw reader.Fail($"it sends two shares of client {v}");
            byte kind = reader.ReadByte($"share kind for client {v}");
            bool survived = Array.BinarySearch(survivors, v) >= 0;
            byte expectedKind = survived ? SharePayload.SelfMaskKind : SharePayload.MaskKeyKind;
            if (kind != expectedKind)
                throw reader.Fail($"it sends a {(kind == SharePayload.SelfMaskKind ? "self-mask" : kind == SharePayload.MaskKeyKind ? "mask-key" : $"kind-{kind}")} share of client {v}, who {(survived ? "survived (self-mask expected)" : "dropped (mask-key expected)")}");
            var values = new ulong[survived ? SharePayload.SelfMaskChunks : SharePayload.MaskKeyChunks];
            for (int c = 0; c < values.Length; c++)
            {
                values[c] = reader.ReadUInt64($"share of client {v}");
                if (values[c] >= MersenneField.Prime) throw reader.Fail($"its share of client {v} holds {values[c]}, outside the field");
            }
            entries.Add((v, survived, values));
        }
        reader.ExpectEnd();
        foreach (var (v, selfMask, values) in entries)
        {
            var table = selfMask ? _selfMaskShares : _maskKeyShares;
            if (!table.TryGetValue(v, out var list)) table[v] = list = [];
            list.Add(new ShamirShare(u + 1, values));
        }
    }

    private byte[] Reconstruct(Dictionary<int, List<ShamirShare>> table, int owner, int length, string what)
    {
        var shares = table.TryGetValue(owner, out var list) ? list : [];
        if (shares.Count < _settings.Threshold)
            throw new SecureAggregationAbortedException(SecAggStage.Unmasking,
                $"Round {Round} aborted at unmasking: only {shares.Count} shares of client {owner}'s {what} arrived, fewer than the threshold {_settings.Threshold}.");
        return ShamirSecretSharing.Reconstruct(shares, _settings.Threshold, length);
    }

    private int[] CloseStage(SecAggStage stage)
    {
        if (_aborted) throw new InvalidOperationException($"round {Round} was aborted.");
        if (Stage != stage || _survivorsByStage.Count == 4)
            throw new InvalidOperationException($"Complete{stage} called while the server is at {(_survivorsByStage.Count == 4 ? "the end" : Stage.ToString())} of round {Round}.");
        var survivors = _received.ToArray();
        _survivorsByStage.Add(survivors);
        if (survivors.Length < _settings.Threshold)
        {
            _aborted = true;
            throw new SecureAggregationAbortedException(stage,
                $"Round {Round} aborted at {stage}: {survivors.Length} of the {_stageParticipants} clients expected at this stage remain{(_rejected.Count > 0 ? $" ({_rejected.Count} rejected so far)" : "")}, fewer than the threshold {_settings.Threshold}. Nothing of the sum is revealed.");
        }
        _expected = new SortedSet<int>(survivors);
        _stageParticipants = survivors.Length;
        _received.Clear();
        if (stage != SecAggStage.Unmasking) Stage = stage + 1;
        return survivors;
    }
}
