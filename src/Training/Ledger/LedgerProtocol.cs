using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using AllReduceNet.Privacy;
using AllReduceNet.Privacy.SecretSharing;
using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// One peer's side of a ledger round (Biscotti's round, docs/ledger.md), given its update <c>[n delta, n]</c>:
/// <list type="number">
/// <item>roles from the head block (<see cref="LedgerChain.NextRoles"/>);</item>
/// <item>noise: each noiser sends every peer a fresh secret 32-byte seed; a peer adds the Gaussian noise they expand to
/// (<see cref="LedgerNoise"/>) to the copy of its delta that the verifiers see (with --ledger-noise);</item>
/// <item>submit: the peer sends each verifier its weight, its (noised) delta and the digest of its fixed-point update;</item>
/// <item>verdict: each verifier runs Multi-Krum over the deltas that arrived, and sends every peer the accepted set
/// (peer, digest) with its ECDSA signature over it; a peer takes the set a quorum of valid signatures agree on;</item>
/// <item>share: each accepted peer sends aggregator j its Shamir share x = j + 1 of the fixed-point update;</item>
/// <item>partial: each aggregator adds the shares it got and sends the summed share, with the contributors it
/// holds, to the other aggregators;</item>
/// <item>block: each aggregator reconstructs the sum from t summed shares over the same contributors, divides by the
/// summed weight, builds the block and sends it to every peer; a peer appends the first block that verifies and
/// refuses the others that differ (a fork) or do not verify, naming them. With no valid block by the deadline it
/// appends the empty block (no contributors, zero delta), which every such peer builds alike.</item>
/// </list>
/// A peer missing from a step (crashed, late, slow past the step's deadline) is simply absent from its result.
/// </summary>
internal sealed class LedgerProtocol
{
    private readonly int _me, _peers, _length;
    private readonly LedgerSettings _settings;
    private readonly LedgerChain _chain;
    private readonly ECDsa _key;
    private readonly PeerExchange _exchange;

    /// <param name="me">This peer's rank.</param>
    /// <param name="settings">The ledger settings.</param>
    /// <param name="chain">This peer's verified chain (read for the head, the roles, the keys and the model).</param>
    /// <param name="key">This peer's signing key.</param>
    /// <param name="exchange">The point-to-point exchange.</param>
    /// <param name="length">Update length P + 1 (the weight last).</param>
    public LedgerProtocol(int me, LedgerSettings settings, LedgerChain chain, ECDsa key, PeerExchange exchange, int length)
    {
        _me = me;
        _peers = chain.PeerCount;
        _settings = settings;
        _chain = chain;
        _key = key;
        _exchange = exchange;
        _length = length;
    }

    /// <summary>The largest block record of this model and peer count (what a receive must have room for).</summary>
    public static int MaxBlockBytes(int peers, int parameters) =>
        1024 + peers * (4 + LedgerDigest.Bytes + 4 + 4 + LedgerBlockCodec.SignatureBytes + LedgerBlockCodec.PublicKeyBytes + 8 + 12) + 4 * parameters;

    /// <summary>Runs the protocol of round <paramref name="round"/> (the head's round + 1) and returns the block to append.</summary>
    public (LedgerBlock Block, int[]? Submitted, List<string> Refusals, bool Proposed) Run(long round, float[] update)
    {
        var head = _chain.Head;
        var roles = _chain.NextRoles();
        var refusals = new List<string>();
        int parameters = _length - 1;
        var encoded = UpdateShares.Encode(update);
        var digest = LedgerDigest.Of(encoded);
        var all = Enumerable.Range(0, _peers).ToArray();

        // Noise: the verifiers see delta + noise; the aggregate sums the un-noised updates (Biscotti's split).
        float weight = update[^1];
        var seen = new float[parameters];
        for (int i = 0; i < parameters; i++) seen[i] = update[i] / weight;
        if (_settings.NoiseStd > 0 && roles.Noisers.Length > 0)
        {
            var seeds = roles.Noisers.Contains(_me) ? all.ToDictionary(p => p, _ => LedgerNoise.NewSeed()) : [];
            var received = _exchange.Exchange(round, LedgerPhase.Noise, seeds, roles.Noisers, LedgerNoise.SeedBytes);
            double std = _settings.NoiseStd / Math.Sqrt(roles.Noisers.Length);
            foreach (var (noiser, seed) in received)
            {
                if (seed.Length != LedgerNoise.SeedBytes)
                {
                    refusals.Add($"round {round}: noise seed from noiser {noiser} has {seed.Length} bytes, expected {LedgerNoise.SeedBytes}; ignored");
                    continue;
                }
                LedgerNoise.Add(seen, LedgerNoise.StreamKey(seed, round, noiser, _me), std);
            }
        }

        // Submit to the verifiers.
        var submission = new byte[LedgerDigest.Bytes + 4 + 4 * parameters];
        digest.CopyTo(submission, 0);
        BinaryPrimitives.WriteSingleLittleEndian(submission.AsSpan(LedgerDigest.Bytes), weight);
        MemoryMarshal.AsBytes(seen.AsSpan()).CopyTo(submission.AsSpan(LedgerDigest.Bytes + 4));
        bool verifier = roles.Verifiers.Contains(_me);
        var submissions = _exchange.Exchange(round, LedgerPhase.Submit, roles.Verifiers.ToDictionary(v => v, _ => submission),
            verifier ? all : [], submission.Length);

        // Verdicts.
        var verdicts = new Dictionary<int, byte[]>();
        int[]? submitted = null;
        if (verifier)
        {
            submitted = [.. submissions.Keys.Order()];
            var accepted = Verify(submissions, parameters);
            var message = LedgerSigning.Verdict(round, head.Hash, accepted);
            var verdict = EncodeVerdict(accepted, LedgerSigning.Sign(_key, message));
            foreach (int p in all) verdicts[p] = verdict;
        }
        int verdictCapacity = 4 + _peers * (4 + LedgerDigest.Bytes) + LedgerBlockCodec.SignatureBytes;
        // A peer may stop at a quorum; an aggregator waits for every verdict, since the signatures it puts in the block
        // must be the same as the other aggregators' for their blocks to be the same block.
        var quorum = (Func<IReadOnlyDictionary<int, byte[]>, bool>)(got => Agreed(round, head.Hash, roles, got) is not null);
        var gotVerdicts = _exchange.Exchange(round, LedgerPhase.Verdict, verdicts, roles.Verifiers, verdictCapacity,
            roles.Aggregators.Contains(_me) ? null : quorum);
        var agreed = Agreed(round, head.Hash, roles, gotVerdicts);

        // Shares of accepted updates to the aggregators.
        var shares = new Dictionary<int, byte[]>();
        if (agreed is { } set && set.Accepted.Any(a => a.Peer == _me && a.Digest.AsSpan().SequenceEqual(digest)))
        {
            var split = UpdateShares.Split(encoded, roles.ShareThreshold, roles.Aggregators.Length);
            for (int j = 0; j < roles.Aggregators.Length; j++) shares[roles.Aggregators[j]] = MemoryMarshal.AsBytes(split[j].Values.AsSpan()).ToArray();
        }
        int aggregatorIndex = Array.IndexOf(roles.Aggregators, _me);
        var shareSources = aggregatorIndex >= 0 && agreed is { } accepted2 ? accepted2.Accepted.Select(a => a.Peer).ToArray() : [];
        var gotShares = _exchange.Exchange(round, LedgerPhase.Share, shares, shareSources, 8 * _length);

        // Summed shares among the aggregators.
        var partials = new Dictionary<int, byte[]>();
        if (aggregatorIndex >= 0)
        {
            var sum = new ulong[_length];
            var contributors = new List<int>();
            foreach (var (peer, bytes) in gotShares.OrderBy(kv => kv.Key))
            {
                if (bytes.Length != 8 * _length) continue;
                var values = MemoryMarshal.Cast<byte, ulong>(bytes);
                bool inField = true;
                foreach (ulong v in values) inField &= v < MersenneField.Prime;
                if (!inField) continue;
                UpdateShares.AddInto(sum, values);
                contributors.Add(peer);
            }
            var partial = EncodePartial(aggregatorIndex + 1, contributors, sum);
            foreach (int a in roles.Aggregators) partials[a] = partial;
        }
        int partialCapacity = 8 + 4 * _peers + 8 * _length;
        // Enough: t summed shares over every accepted peer (the best any aggregator can do); else wait for all of them.
        string everyone = agreed is { } full ? string.Join(",", full.Accepted.Select(a => a.Peer)) : "";
        var complete = (Func<IReadOnlyDictionary<int, byte[]>, bool>)(got =>
            got.Values.Count(p => p.Length >= 8 && ContributorKey(p) == everyone) >= roles.ShareThreshold);
        var gotPartials = _exchange.Exchange(round, LedgerPhase.Partial, partials, aggregatorIndex >= 0 ? roles.Aggregators : [], partialCapacity, complete);

        // Blocks.
        var proposals = new Dictionary<int, byte[]>();
        if (aggregatorIndex >= 0)
        {
            var block = Build(round, head, roles, agreed, gotPartials);
            if (_settings.TamperingPeer == _me && block.Contributors.Length > 0)
            {
                // A Byzantine aggregator: the delta is changed after the digests were computed.
                var payload = (float[])block.Payload.Clone();
                payload[0] += 1f;
                block = block with { Payload = payload };
            }
            var record = LedgerBlockCodec.Encode(block);
            foreach (int p in all) proposals[p] = record;
        }
        // A block proposed by a majority of the aggregators ends the wait. The block appended is the one most aggregators
        // proposed (ties: more contributors, then the lowest aggregator), so peers that see the same proposals agree.
        var enough = (Func<IReadOnlyDictionary<int, byte[]>, bool>)(got => got.Values.GroupBy(Convert.ToHexString).Any(g => g.Count() >= roles.ShareThreshold)
            && Valid(got, roles, null).Count > 0);
        var gotBlocks = _exchange.Exchange(round, LedgerPhase.Block, proposals, roles.Aggregators, MaxBlockBytes(_peers, parameters), enough);
        var valid = Valid(gotBlocks, roles, refusals);
        var best = valid.GroupBy(v => LedgerDigest.Hex(v.Block.Hash))
            .OrderByDescending(g => g.Count()).ThenByDescending(g => g.First().Block.Contributors.Length).ThenBy(g => g.First().Sender).FirstOrDefault();
        var chosen = best?.First().Block;
        foreach (var (sender, block) in valid)
            if (!block.Hash.AsSpan().SequenceEqual(chosen!.Hash))
                refusals.Add(new LedgerRejectedException(block.Round, block.ShortHash, $"peer {sender}",
                    $"fork: {best!.Count()} aggregator(s) ({string.Join(",", best!.Select(v => v.Sender))}) proposed block {chosen.Round} ({chosen.ShortHash}), which this peer appended").Message);
        return (chosen ?? EmptyBlock(round, head, roles), submitted, refusals, chosen is not null);
    }

    /// <summary>The block every peer builds alike when no aggregator delivered a valid one: no contributors, zero delta.</summary>
    public LedgerBlock EmptyBlock(long round, LedgerBlock head, RoundRoles roles)
    {
        var zero = new float[_chain.Model.Length];
        return new LedgerBlock(round, head.Hash, null, roles, [], [], LedgerDigest.Of(zero), LedgerDigest.Of(_chain.Model), [], zero);
    }

    private List<(int Sender, LedgerBlock Block)> Valid(IReadOnlyDictionary<int, byte[]> proposals, RoundRoles roles, List<string>? refusals)
    {
        var valid = new List<(int, LedgerBlock)>();
        foreach (int a in roles.Aggregators)
            if (proposals.TryGetValue(a, out var bytes) && TryVerify(bytes, a, refusals) is { } block) valid.Add((a, block));
        return valid;
    }

    private LedgerBlock? TryVerify(byte[] bytes, int sender, List<string>? refusals)
    {
        try
        {
            var block = LedgerBlockCodec.Decode(bytes);
            _chain.Verify(block, $"peer {sender}");
            return block;
        }
        catch (LedgerFormatException e)
        {
            refusals?.Add($"ledger: refused a block from peer {sender}: it is not a well-formed block ({e.Message})");
        }
        catch (LedgerRejectedException e)
        {
            refusals?.Add(e.Message);
        }
        return null;
    }

    /// <summary>A verifier's Multi-Krum over the submissions: the accepted (peer, digest), ascending.</summary>
    private List<AcceptedUpdate> Verify(Dictionary<int, byte[]> submissions, int parameters)
    {
        var peers = new List<int>();
        var deltas = new List<float[]>();
        var weights = new List<double>();
        var digests = new List<byte[]>();
        foreach (var (peer, bytes) in submissions.OrderBy(kv => kv.Key))
        {
            if (bytes.Length != LedgerDigest.Bytes + 4 + 4 * parameters) continue;
            float weight = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(LedgerDigest.Bytes));
            var delta = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(LedgerDigest.Bytes + 4)).ToArray();
            if (!(weight > 0 && float.IsFinite(weight)) || delta.Any(v => !float.IsFinite(v))) continue;
            peers.Add(peer);
            deltas.Add(delta);
            weights.Add(weight);
            digests.Add(bytes[..LedgerDigest.Bytes]);
        }
        int n = peers.Count;
        var keep = Enumerable.Range(0, n).ToList();
        int f = Math.Min(_settings.KrumF, (n - 3) / 2);
        if (n >= 3 && f > 0)
        {
            var outcome = new KrumRule(f, n - f).Aggregate(deltas, weights);
            keep = [.. keep.Except(outcome.Rejected)];
        }
        return [.. keep.Select(i => new AcceptedUpdate(peers[i], digests[i]))];
    }

    private static byte[] EncodeVerdict(List<AcceptedUpdate> accepted, byte[] signature)
    {
        var bytes = new byte[4 + accepted.Count * (4 + LedgerDigest.Bytes) + signature.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, accepted.Count);
        int at = 4;
        foreach (var a in accepted)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), a.Peer);
            a.Digest.CopyTo(bytes, at + 4);
            at += 4 + LedgerDigest.Bytes;
        }
        signature.CopyTo(bytes, at);
        return bytes;
    }

    private static (AcceptedUpdate[] Accepted, byte[] Signature)? DecodeVerdict(byte[] bytes)
    {
        if (bytes.Length < 4) return null;
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        if (count < 0 || bytes.Length != 4 + (long)count * (4 + LedgerDigest.Bytes) + LedgerBlockCodec.SignatureBytes) return null;
        var accepted = new AcceptedUpdate[count];
        for (int i = 0, at = 4; i < count; i++, at += 4 + LedgerDigest.Bytes)
            accepted[i] = new AcceptedUpdate(BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at)), bytes[(at + 4)..(at + 4 + LedgerDigest.Bytes)]);
        return (accepted, bytes[^LedgerBlockCodec.SignatureBytes..]);
    }

    /// <summary>
    /// The accepted set that a quorum of the round's verifiers signed validly among <paramref name="verdicts"/>, with
    /// those signatures (ascending by verifier); the largest such group, ties to the one whose first signer is lowest.
    /// </summary>
    private (AcceptedUpdate[] Accepted, VerifierSignature[] Signatures)? Agreed(long round, byte[] previousHash, RoundRoles roles, IReadOnlyDictionary<int, byte[]> verdicts)
    {
        var groups = new Dictionary<string, (AcceptedUpdate[] Accepted, List<VerifierSignature> Signatures)>();
        foreach (int v in roles.Verifiers)
        {
            if (!verdicts.TryGetValue(v, out var bytes) || DecodeVerdict(bytes) is not { } verdict) continue;
            var message = LedgerSigning.Verdict(round, previousHash, verdict.Accepted);
            if (!_chain.ValidSignature(v, message, verdict.Signature)) continue;
            string key = Convert.ToHexString(message);
            if (!groups.TryGetValue(key, out var group)) groups[key] = group = (verdict.Accepted, []);
            group.Signatures.Add(new VerifierSignature(v, verdict.Signature));
        }
        var best = groups.Values.Where(g => g.Signatures.Count >= roles.Quorum)
            .OrderByDescending(g => g.Signatures.Count).ThenBy(g => g.Signatures[0].Peer).FirstOrDefault();
        return best.Accepted is null ? null : (best.Accepted, [.. best.Signatures]);
    }

    private string ContributorKey(byte[] partial)
    {
        int count = BinaryPrimitives.ReadInt32LittleEndian(partial.AsSpan(4));
        return count < 0 || count > _peers || partial.Length < 8 + 4 * count ? "?" : string.Join(",", MemoryMarshal.Cast<byte, int>(partial.AsSpan(8, 4 * count)).ToArray());
    }

    private static byte[] EncodePartial(int x, List<int> contributors, ulong[] sum)
    {
        var bytes = new byte[8 + 4 * contributors.Count + 8 * sum.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, x);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), contributors.Count);
        for (int i = 0; i < contributors.Count; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + 4 * i), contributors[i]);
        MemoryMarshal.AsBytes(sum.AsSpan()).CopyTo(bytes.AsSpan(8 + 4 * contributors.Count));
        return bytes;
    }

    /// <summary>An aggregator's block: the sum from t summed shares over one contributor set, divided by the summed weight.</summary>
    private LedgerBlock Build(long round, LedgerBlock head, RoundRoles roles, (AcceptedUpdate[] Accepted, VerifierSignature[] Signatures)? agreed,
        Dictionary<int, byte[]> partials)
    {
        if (agreed is not { } set) return EmptyBlock(round, head, roles);
        var groups = new Dictionary<string, (int[] Contributors, List<ShamirShare> Shares)>();
        foreach (var (aggregator, bytes) in partials.OrderBy(kv => kv.Key))
        {
            if (bytes.Length < 8) continue;
            int x = BinaryPrimitives.ReadInt32LittleEndian(bytes), count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
            if (x != Array.IndexOf(roles.Aggregators, aggregator) + 1 || count < 0 || count > _peers || bytes.Length != 8 + 4 * count + 8 * _length) continue;
            var contributors = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(8, 4 * count)).ToArray();
            var values = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(8 + 4 * count)).ToArray();
            string key = string.Join(",", contributors);
            if (!groups.TryGetValue(key, out var group)) groups[key] = group = (contributors, []);
            group.Shares.Add(new ShamirShare(x, values));
        }
        var best = groups.Values.Where(g => g.Shares.Count >= roles.ShareThreshold && g.Contributors.Length > 0)
            .OrderByDescending(g => g.Contributors.Length).ThenByDescending(g => g.Shares.Count).FirstOrDefault();
        if (best.Contributors is null) return EmptyBlock(round, head, roles);
        double[] sum;
        try { sum = UpdateShares.Reconstruct(best.Shares, roles.ShareThreshold, _length, best.Contributors.Length); }
        catch (PrivacyException) { return EmptyBlock(round, head, roles); }
        double totalWeight = sum[^1];
        if (!(totalWeight > 0)) return EmptyBlock(round, head, roles);
        var delta = new float[_length - 1];
        for (int i = 0; i < delta.Length; i++) delta[i] = (float)(sum[i] / totalWeight);
        var model = new float[delta.Length];
        TensorPrimitives.Add(_chain.Model, delta, model);
        return new LedgerBlock(round, head.Hash, null, roles, set.Accepted, best.Contributors, LedgerDigest.Of(delta), LedgerDigest.Of(model), set.Signatures, delta);
    }
}
