using System.Buffers.Binary;
using System.Globalization;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// Fork resolution at the end of every round (docs/ledger.md, "Forks"). The step deadlines are per peer, so under load
/// peers can append different blocks for the same round. After appending, every peer sends every peer the hashes of
/// its chain (<see cref="LedgerPhase.Heads"/>); two peers whose chains diverge (neither is a prefix of the other) send
/// each other their blocks after the common ancestor (<see cref="LedgerPhase.Branch"/>). A peer verifies each branch
/// it receives on a scratch chain (every check of <see cref="LedgerChain.Verify"/>: a tampered or invalid block is
/// refused as anywhere else) and applies <see cref="LedgerForkChoice"/>; if a branch wins over its own, it moves its
/// losing blocks to the audit file <c>peer-N.ledger.fork-R</c> (never deleted), truncates its ledger to the ancestor
/// (fsync), appends the winning blocks and goes on from their model. Both steps wait at most a bounded time; a peer
/// whose announcement arrives too late is resolved at the end of a later round.
/// </summary>
internal sealed class LedgerForkResolver
{
    private readonly int _me, _peers, _maxBlockBytes;
    private readonly long _maxRounds;
    private readonly LedgerChain _chain;
    private readonly LedgerFile _file;
    private readonly PeerExchange _exchange;

    /// <param name="me">This peer's rank.</param>
    /// <param name="chain">Its verified chain (rolled back in place when it loses a fork).</param>
    /// <param name="file">Its ledger file (truncated and appended alike).</param>
    /// <param name="exchange">The point-to-point exchange.</param>
    /// <param name="maxBlockBytes">The largest block record (<see cref="LedgerProtocol.MaxBlockBytes"/>).</param>
    /// <param name="maxRounds">The run's last round (bounds an announcement).</param>
    public LedgerForkResolver(int me, LedgerChain chain, LedgerFile file, PeerExchange exchange, int maxBlockBytes, long maxRounds)
    {
        _me = me;
        _peers = chain.PeerCount;
        _chain = chain;
        _file = file;
        _exchange = exchange;
        _maxBlockBytes = maxBlockBytes;
        _maxRounds = maxRounds;
    }

    /// <summary>Runs the end-of-round exchange of <paramref name="round"/>; returns the log line of a roll-back (null
    /// when this peer kept its chain) and what it refused on the way.</summary>
    public (string? RolledBack, List<string> Refusals) Resolve(long round)
    {
        var refusals = new List<string>();
        var all = Enumerable.Range(0, _peers).ToArray();
        var mine = _chain.Blocks.Select(b => b.Hash).ToArray();
        var announcement = EncodeHashes(mine);
        var heads = _exchange.Exchange(round, LedgerPhase.Heads, all.ToDictionary(p => p, _ => announcement), all,
            4 + LedgerDigest.Bytes * (int)(_maxRounds + 1), wait: _exchange.Timeout);
        var announced = new Dictionary<int, byte[][]>();
        foreach (var (sender, bytes) in heads)
        {
            if (DecodeHashes(bytes) is { } hashes) announced[sender] = hashes;
            else refusals.Add($"ledger: round {round}: peer {sender}'s chain announcement is not a list of block hashes ({bytes.Length} bytes); ignored");
        }

        // Diverged: neither chain is a prefix of the other. Each side sends the other its blocks after the ancestor.
        var ancestors = new Dictionary<int, long>();
        foreach (var (peer, hashes) in announced)
        {
            long ancestor = LedgerForkChoice.CommonAncestor(mine, hashes);
            if (peer != _me && ancestor < mine.Length - 1 && ancestor < hashes.Length - 1) ancestors[peer] = ancestor;
        }
        if (ancestors.Count == 0) return (null, refusals);
        var outgoing = ancestors.ToDictionary(kv => kv.Key, kv => EncodeBranch(_chain.Blocks.Skip((int)kv.Value + 1)));
        int capacity = ancestors.Max(kv => 4 + (announced[kv.Key].Length - 1 - (int)kv.Value) * (4 + _maxBlockBytes));
        var branches = _exchange.Exchange(round, LedgerPhase.Branch, outgoing, [.. ancestors.Keys.Order()], capacity, wait: _exchange.Timeout * 2);

        LedgerChain? best = null;
        int bestSender = -1;
        try
        {
            foreach (var (sender, bytes) in branches.OrderBy(kv => kv.Key))
            {
                var candidate = Candidate(sender, bytes, ancestors[sender], refusals);
                if (candidate is null) continue;
                if (LedgerForkChoice.Prefers(candidate.Blocks, best?.Blocks ?? _chain.Blocks))
                {
                    best?.Dispose();
                    (best, bestSender) = (candidate, sender);
                }
                else candidate.Dispose();
            }
            return (best is null ? null : RollBack(round, best, bestSender, announced), refusals);
        }
        finally { best?.Dispose(); }
    }

    /// <summary>This chain up to the ancestor plus the sender's branch, every block verified; null (and a refusal) when
    /// a block does not verify or the message is not a branch.</summary>
    private LedgerChain? Candidate(int sender, byte[] bytes, long ancestor, List<string> refusals)
    {
        var candidate = new LedgerChain(_chain.Blocks[0], "genesis");
        try
        {
            foreach (var block in _chain.Blocks.Skip(1).Take((int)ancestor)) candidate.Append(block, "this peer's own ledger");
            foreach (var block in DecodeBranch(bytes)) candidate.Append(block, $"peer {sender} (fork branch)");
            return candidate;
        }
        catch (LedgerRejectedException e) { refusals.Add(e.Message); }
        catch (LedgerFormatException e) { refusals.Add($"ledger: refused the fork branch from peer {sender}: it is not a list of well-formed blocks ({e.Message})"); }
        candidate.Dispose();
        return null;
    }

    private string RollBack(long round, LedgerChain winner, int sender, Dictionary<int, byte[][]> announced)
    {
        long ancestor = LedgerForkChoice.CommonAncestor([.. _chain.Blocks.Select(b => b.Hash)], [.. winner.Blocks.Select(b => b.Hash)]);
        var losing = _chain.Blocks.Skip((int)ancestor + 1).ToArray();
        var winning = winner.Blocks.Skip((int)ancestor + 1).ToArray();
        int weightLost = LedgerForkChoice.Weight(_chain.Blocks), weightWon = LedgerForkChoice.Weight(winner.Blocks);
        // The losing blocks go to the audit file first (fsynced), then the ledger is cut back: a crash in between loses nothing.
        string audit = $"{_file.Path}.fork-{ancestor + 1}";
        using (var file = LedgerFile.Open(audit))
            foreach (var block in losing) file.Append(block);
        _file.TruncateTo((int)ancestor + 1);
        _chain.TruncateTo(ancestor);
        foreach (var block in winning)
        {
            _chain.Append(block, $"peer {sender} (fork branch)");
            _file.Append(block);
        }
        string Holders(LedgerBlock block) => string.Join(",", announced.Where(kv => kv.Value.Length > ancestor + 1 && kv.Value[ancestor + 1].AsSpan().SequenceEqual(block.Hash))
            .Select(kv => kv.Key).Order());   // this peer's own announcement is among them
        long at = ancestor + 1;
        return string.Create(CultureInfo.InvariantCulture,
            $"ledger: fork at round {at}: peer {_me} rolls back block {at} ({losing[0].ShortHash}, held by peers {Holders(losing[0])}, chain weight {weightLost}) for block {at} ({winning[0].ShortHash}, held by peers {Holders(winning[0])}, weight {weightWon}) fetched from peer {sender} at the end of round {round}; {losing.Length} block(s) moved to {audit}, ledger cut to block {ancestor}, {winning.Length} appended");
    }

    /// <summary>A chain announcement: the count, then every block hash.</summary>
    internal static byte[] EncodeHashes(byte[][] hashes)
    {
        var bytes = new byte[4 + LedgerDigest.Bytes * hashes.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, hashes.Length);
        for (int i = 0; i < hashes.Length; i++) hashes[i].CopyTo(bytes, 4 + LedgerDigest.Bytes * i);
        return bytes;
    }

    private static byte[][]? DecodeHashes(byte[] bytes)
    {
        if (bytes.Length < 4) return null;
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        if (count < 1 || bytes.Length != 4 + (long)LedgerDigest.Bytes * count) return null;
        return [.. Enumerable.Range(0, count).Select(i => bytes[(4 + LedgerDigest.Bytes * i)..(4 + LedgerDigest.Bytes * (i + 1))])];
    }

    /// <summary>A branch: the count, then each block record with its length.</summary>
    internal static byte[] EncodeBranch(IEnumerable<LedgerBlock> blocks)
    {
        var records = blocks.Select(LedgerBlockCodec.Encode).ToArray();
        var bytes = new byte[4 + records.Sum(r => 4 + r.Length)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, records.Length);
        int at = 4;
        foreach (var record in records)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), record.Length);
            record.CopyTo(bytes, at + 4);
            at += 4 + record.Length;
        }
        return bytes;
    }

    /// <exception cref="LedgerFormatException">The message is not a count followed by that many length-prefixed blocks.</exception>
    private static List<LedgerBlock> DecodeBranch(byte[] bytes)
    {
        if (bytes.Length < 4) throw new LedgerFormatException($"a branch of {bytes.Length} bytes has no block count");
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes), at = 4;
        if (count < 1) throw new LedgerFormatException($"a branch of {count} blocks");
        var blocks = new List<LedgerBlock>();
        for (int i = 0; i < count; i++)
        {
            if (bytes.Length - at < 4) throw new LedgerFormatException($"block {i} of {count} is missing");
            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            if (length < 0 || length > bytes.Length - at - 4) throw new LedgerFormatException($"block {i} of {count} claims {length} bytes, {bytes.Length - at - 4} are left");
            blocks.Add(LedgerBlockCodec.Decode(bytes.AsSpan(at + 4, length)));
            at += 4 + length;
        }
        if (at != bytes.Length) throw new LedgerFormatException($"{bytes.Length - at} bytes follow the last block");
        return blocks;
    }
}
