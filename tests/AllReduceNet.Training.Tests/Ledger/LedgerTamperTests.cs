using AllReduceNet.Training.Ledger;

namespace AllReduceNet.Training.Tests.Ledger;

/// <summary>One honest 5-peer run of 3 rounds, shared by the tamper tests.</summary>
public sealed class HonestLedgerFixture : IDisposable
{
    internal const int Peers = 5;
    private readonly TempDirectory _dir = new();

    public HonestLedgerFixture()
    {
        Results = LedgerRun.Run($"--ranks {Peers} --rounds 3 --ledger-timeout 30 --ledger-dir {_dir.Path}");
    }

    public string Directory => _dir.Path;

    internal LedgerPeerResult[] Results { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Issue 12's tamper cases: a changed delta, a changed signature, a reordered block and a fork are refused by every
/// honest peer's chain, with a message naming the block (round and hash) and the peer that sent it.
/// </summary>
public sealed class LedgerTamperTests(HonestLedgerFixture run) : IClassFixture<HonestLedgerFixture>
{
    private const int Sender = 4;

    [Fact]
    public void Honest_peers_end_with_identical_ledgers_and_models()
    {
        Assert.All(run.Results, r => Assert.Equal(3, r.Height));
        Assert.Single(run.Results.Select(r => r.ModelDigest).Distinct());
        Assert.Single(run.Results.Select(r => r.HeadHash).Distinct());
        Assert.All(run.Results, r => Assert.Empty(r.Refusals));
        LedgerRun.AssertSameFiles(run.Directory, HonestLedgerFixture.Peers);
        // Something was learned: blocks carry contributors and a quorum of signatures, and the model moved.
        var (chain, blocks) = LedgerRun.Chain(run.Directory, 0, 3);
        using (chain)
        {
            Assert.All(blocks.Skip(1), b => Assert.True(b.Contributors.Length >= 3 && b.Signatures.Length >= b.Roles.Quorum, $"block {b.Round}: {b.Contributors.Length} contributors, {b.Signatures.Length} signatures"));
            Assert.True(chain.Model.Zip(blocks[0].Payload).Max(p => MathF.Abs(p.First - p.Second)) > 1e-3f, "the model did not move");
            // Stake grows with accepted contributions.
            Assert.Equal(blocks.Skip(1).Sum(b => b.Contributors.Length), chain.Stakes.Sum() - HonestLedgerFixture.Peers * 10);
        }
    }

    public static TheoryData<string, string> Tampers => new()
    {
        { "delta", "tampered delta" },
        { "delta-and-digest", "is not that of block 1's model plus the delta" },
        { "signature", "signature does not verify" },
        { "reordered", "out of order: the next block is 2" },
        { "previous-hash", "is not block 1's hash" },
        { "roles", "are not the sortition's" },
        { "contributor", "is not among the accepted updates" },
    };

    [Theory]
    [MemberData(nameof(Tampers))]
    public void Every_honest_peer_refuses_a_tampered_block_naming_it_and_the_sender(string tamper, string reason)
    {
        for (int peer = 0; peer < HonestLedgerFixture.Peers; peer++)
        {
            var (chain, blocks) = LedgerRun.Chain(run.Directory, peer, 1);
            using (chain)
            {
                var block = Tamper(tamper, blocks);
                var refused = Assert.Throws<LedgerRejectedException>(() => chain.Append(block, $"peer {Sender}"));
                Assert.Contains($"block {block.Round} ({block.ShortHash}) from peer {Sender}", refused.Message);
                Assert.Contains(reason, refused.Message);
                Assert.Equal(1, chain.Height);   // nothing appended
                chain.Append(blocks[2], "the honest sender");   // and the honest block still goes in
            }
        }
    }

    [Fact]
    public void A_fork_is_refused_once_the_round_has_a_block()
    {
        var (chain, blocks) = LedgerRun.Chain(run.Directory, 1, 2);
        using (chain)
        {
            var fork = blocks[2] with { Contributors = [], Payload = new float[blocks[2].Payload.Length] };
            var refused = Assert.Throws<LedgerRejectedException>(() => chain.Append(fork, "peer 3"));
            Assert.Contains($"block 2 ({fork.ShortHash}) from peer 3: fork: this ledger already holds a different block 2 ({blocks[2].ShortHash})", refused.Message);
        }
    }

    private static LedgerBlock Tamper(string how, IReadOnlyList<LedgerBlock> blocks)
    {
        var block = blocks[2];
        switch (how)
        {
            case "delta":
            {
                var payload = (float[])block.Payload.Clone();
                payload[^1] += 0.5f;
                return block with { Payload = payload };
            }
            case "delta-and-digest":
            {
                var payload = (float[])block.Payload.Clone();
                payload[0] -= 0.25f;
                return block with { Payload = payload, DeltaDigest = LedgerDigest.Of(payload) };
            }
            case "signature":
            {
                var signatures = block.Signatures.Select(s => s with { Signature = (byte[])s.Signature.Clone() }).ToArray();
                signatures[0].Signature[5] ^= 0x40;
                return block with { Signatures = signatures };
            }
            case "reordered":
                return blocks[3];
            case "previous-hash":
            {
                var previous = (byte[])block.PreviousHash.Clone();
                previous[0] ^= 1;
                return block with { PreviousHash = previous };
            }
            case "roles":
            {
                int[] others = [.. Enumerable.Range(0, block.Roles.Verifiers.Length)];
                if (others.AsSpan().SequenceEqual(block.Roles.Verifiers)) others = [.. Enumerable.Range(1, others.Length)];
                return block with { Roles = block.Roles with { Verifiers = others } };
            }
            case "contributor":
            {
                int outsider = Enumerable.Range(0, HonestLedgerFixture.Peers).First(p => block.Accepted.All(a => a.Peer != p) || p == HonestLedgerFixture.Peers - 1);
                var accepted = block.Accepted.Where(a => a.Peer != outsider).ToArray();
                return block with { Accepted = accepted, Contributors = [.. block.Contributors.Append(outsider).Distinct().Order()] };
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(how), how, null);
        }
    }
}
