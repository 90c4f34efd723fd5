using System.Numerics.Tensors;
using System.Security.Cryptography;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// One peer's verified view of the ledger: the blocks from genesis on, the model they give (genesis payload plus every
/// delta), and the stakes (initial stake plus <see cref="StakeReward"/> per contribution that made it into a block).
/// <see cref="Append"/> admits a block only when it extends the head: the round follows, the previous hash is the
/// head's, the roles are the sortition's over the head, the accepted set carries a quorum of valid signatures of the
/// round's verifiers, the contributors are among the accepted, the payload has the recorded delta digest, and the
/// head model plus the delta has the recorded model digest. Anything else is a <see cref="LedgerRejectedException"/>
/// naming the block and its sender.
/// </summary>
internal sealed class LedgerChain : IDisposable
{
    /// <summary>Stake a peer gains for each update of its that a block's aggregate holds.</summary>
    public const long StakeReward = 1;

    private readonly List<LedgerBlock> _blocks = [];
    private readonly ECDsa[] _keys;
    private readonly long[] _stakes;
    private float[] _model;

    /// <summary>Starts a chain at <paramref name="genesis"/>, checked first.</summary>
    /// <exception cref="LedgerRejectedException">It is not a well-formed genesis block.</exception>
    public LedgerChain(LedgerBlock genesis, string source)
    {
        LedgerRejectedException Why(string reason) => new(genesis.Round, genesis.ShortHash, source, reason);
        if (genesis.Round != 0) throw Why("a genesis block must be round 0");
        if (genesis.Genesis is not { } section) throw Why("it lists no peers, so it is not a genesis block");
        if (genesis.PreviousHash.AsSpan().ContainsAnyExcept((byte)0)) throw Why("a genesis block's previous hash must be all zero");
        if (genesis.Accepted.Length + genesis.Contributors.Length + genesis.Signatures.Length > 0) throw Why("a genesis block records no updates or signatures");
        int peers = section.PublicKeys.Length;
        if (section.Stakes.Length != peers || section.Stakes.Any(s => s <= 0)) throw Why("every peer needs a positive stake");
        if (section.Verifiers < 1 || section.Aggregators < 1 || section.Noisers < 0 || Math.Max(section.Verifiers, Math.Max(section.Aggregators, section.Noisers)) > peers)
            throw Why($"role counts {section.Noisers}/{section.Verifiers}/{section.Aggregators} do not fit {peers} peers");
        if (!LedgerDigest.Of(genesis.Payload).AsSpan().SequenceEqual(genesis.DeltaDigest)) throw Why("its initial model does not have the recorded digest");
        if (!genesis.ModelDigest.AsSpan().SequenceEqual(genesis.DeltaDigest)) throw Why("its model digest is not its initial model's");
        _keys = new ECDsa[peers];
        for (int i = 0; i < peers; i++)
        {
            try { _keys[i] = LedgerSigning.ImportPublic(section.PublicKeys[i]); }
            catch (CryptographicException e) { throw Why($"peer {i}'s public key is not a P-256 point ({e.Message})"); }
        }
        Genesis = section;
        _stakes = (long[])section.Stakes.Clone();
        _model = (float[])genesis.Payload.Clone();
        _blocks.Add(genesis);
    }

    public GenesisSection Genesis { get; }

    public IReadOnlyList<LedgerBlock> Blocks => _blocks;

    public LedgerBlock Head => _blocks[^1];

    /// <summary>The round of the head block (0: genesis only).</summary>
    public long Height => Head.Round;

    public int PeerCount => _keys.Length;

    /// <summary>The model after the head block (a live view: do not change it).</summary>
    public float[] Model => _model;

    public IReadOnlyList<long> Stakes => _stakes;

    /// <summary>The roles of the next round, from the head's hash and the current stakes.</summary>
    public RoundRoles NextRoles() => RoleSortition.Draw(Head.Hash, _stakes, Genesis.Noisers, Genesis.Verifiers, Genesis.Aggregators);

    /// <summary>Whether verifier <paramref name="peer"/>'s signature over <paramref name="verdict"/> is valid.</summary>
    public bool ValidSignature(int peer, byte[] verdict, byte[] signature) =>
        peer >= 0 && peer < _keys.Length && LedgerSigning.Verify(_keys[peer], verdict, signature);

    /// <summary>Verifies <paramref name="block"/> against the head without appending it.</summary>
    /// <returns>The model after the block.</returns>
    /// <exception cref="LedgerRejectedException">The block does not extend the head validly (the reason is named).</exception>
    public float[] Verify(LedgerBlock block, string source)
    {
        void Refuse(string reason) => throw new LedgerRejectedException(block.Round, block.ShortHash, source, reason);
        var head = Head;
        if (block.Round <= head.Round)
        {
            var mine = _blocks[(int)Math.Max(block.Round, 0)];
            Refuse(mine.Hash.AsSpan().SequenceEqual(block.Hash)
                ? $"it is already in this ledger (head is block {head.Round})"
                : $"fork: this ledger already holds a different block {block.Round} ({mine.ShortHash})");
        }
        if (block.Round != head.Round + 1) Refuse($"out of order: the next block is {head.Round + 1}");
        if (!block.PreviousHash.AsSpan().SequenceEqual(head.Hash))
            Refuse($"its previous hash {LedgerDigest.Short(block.PreviousHash)} is not block {head.Round}'s hash {head.ShortHash} (a fork or a reordered chain)");
        if (block.Genesis is not null) Refuse("only block 0 may list peers");
        var roles = NextRoles();
        if (!block.Roles.SameAs(roles)) Refuse($"its roles ({block.Roles}) are not the sortition's ({roles})");
        CheckAscending(block.Accepted.Select(a => a.Peer), "accepted updates", PeerCount, Refuse);
        CheckAscending(block.Contributors, "contributors", PeerCount, Refuse);
        foreach (var a in block.Accepted) if (a.Digest.Length != LedgerDigest.Bytes) Refuse($"peer {a.Peer}'s update digest has {a.Digest.Length} bytes");
        var accepted = block.Accepted.Select(a => a.Peer).ToHashSet();
        foreach (int c in block.Contributors) if (!accepted.Contains(c)) Refuse($"contributor {c} is not among the accepted updates");
        if (block.Accepted.Length > 0 || block.Signatures.Length > 0)
        {
            var verdict = LedgerSigning.Verdict(block.Round, block.PreviousHash, block.Accepted);
            var signers = new HashSet<int>();
            foreach (var s in block.Signatures)
            {
                if (Array.BinarySearch(roles.Verifiers, s.Peer) < 0) Refuse($"peer {s.Peer} signed, but is not a verifier of round {block.Round}");
                if (!signers.Add(s.Peer)) Refuse($"verifier {s.Peer} signed twice");
                if (!ValidSignature(s.Peer, verdict, s.Signature)) Refuse($"verifier {s.Peer}'s signature does not verify");
            }
            if (signers.Count < roles.Quorum) Refuse($"{signers.Count} verifier signatures, fewer than the quorum of {roles.Quorum}");
        }
        if (block.Payload.Length != _model.Length) Refuse($"its delta has {block.Payload.Length} values, the model {_model.Length}");
        if (!LedgerDigest.Of(block.Payload).AsSpan().SequenceEqual(block.DeltaDigest)) Refuse("its delta does not have the recorded delta digest (tampered delta)");
        if (block.Contributors.Length == 0 && block.Payload.AsSpan().ContainsAnyExcept(0f)) Refuse("a block without contributors must have a zero delta");
        var model = new float[_model.Length];
        TensorPrimitives.Add(_model, block.Payload, model);
        if (!LedgerDigest.Of(model).AsSpan().SequenceEqual(block.ModelDigest))
            Refuse($"model digest {LedgerDigest.Short(block.ModelDigest)} is not that of block {head.Round}'s model plus the delta ({LedgerDigest.Short(LedgerDigest.Of(model))})");
        return model;
    }

    /// <summary>Verifies and appends <paramref name="block"/>; updates the model and the stakes.</summary>
    /// <exception cref="LedgerRejectedException">See <see cref="Verify"/>.</exception>
    public void Append(LedgerBlock block, string source)
    {
        _model = Verify(block, source);
        foreach (int c in block.Contributors) _stakes[c] += StakeReward;
        _blocks.Add(block);
    }

    /// <summary>
    /// Drops the blocks after <paramref name="height"/> (fork resolution: back to the common ancestor) and rebuilds the
    /// model and the stakes from genesis plus the deltas kept, in the same order and arithmetic as <see cref="Append"/>,
    /// so the model is bit-identical to the one the ancestor gave when it was appended.
    /// </summary>
    public void TruncateTo(long height)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, Height);
        _blocks.RemoveRange((int)height + 1, _blocks.Count - (int)height - 1);
        var model = (float[])_blocks[0].Payload.Clone();
        Genesis.Stakes.CopyTo(_stakes, 0);
        foreach (var block in _blocks.Skip(1))
        {
            var next = new float[model.Length];
            TensorPrimitives.Add(model, block.Payload, next);
            model = next;
            foreach (int c in block.Contributors) _stakes[c] += StakeReward;
        }
        _model = model;
    }

    private static void CheckAscending(IEnumerable<int> peers, string what, int peerCount, Action<string> refuse)
    {
        int previous = -1;
        foreach (int p in peers)
        {
            if (p <= previous) refuse($"its {what} are not distinct peers in ascending order");
            if (p >= peerCount) refuse($"its {what} name peer {p}, but genesis lists {peerCount} peers");
            previous = p;
        }
    }

    public void Dispose()
    {
        foreach (var key in _keys) key?.Dispose();
    }
}
