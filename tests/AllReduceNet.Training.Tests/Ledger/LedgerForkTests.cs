using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Ledger;

namespace AllReduceNet.Training.Tests.Ledger;

/// <summary>
/// Issue 12's fork: peers that append an empty block for a round (their deadline passed before a proposal reached
/// them) while the others append the quorum block. The fork choice rule prefers the quorum branch, the peers on the
/// empty branch roll back to the common ancestor (losing blocks to an audit file), and every ledger ends the same.
/// </summary>
public sealed class LedgerForkTests(HonestLedgerFixture run) : IClassFixture<HonestLedgerFixture>
{
    [Theory]
    [InlineData(2)]   // resolved at the end of round 2, before round 3 trains
    [InlineData(3)]   // the last round: resolved before the peers stop
    public void Peers_on_an_empty_block_branch_roll_back_to_the_quorum_branch_and_every_ledger_ends_the_same(int forkRound)
    {
        using var dir = new TempDirectory();
        int[] missing = [1, 3], kept = [0, 2, 4];
        var results = LedgerRun.Run($"--ranks 5 --rounds 3 --ledger-timeout 30 --ledger-miss-block {forkRound}:1,3 --ledger-dir {dir.Path}");

        Assert.All(results, r => Assert.Equal(3, r.Height));
        Assert.Single(results.Select(r => r.ModelDigest).Distinct());
        Assert.Single(results.Select(r => r.HeadHash).Distinct());
        LedgerRun.AssertSameFiles(dir.Path, 5);
        Assert.All(results, r => Assert.Empty(r.Refusals));
        var (chain, blocks) = LedgerRun.Chain(dir.Path, 0, 3);   // every block verifies from genesis
        using (chain)
        {
            var winner = blocks[forkRound];
            Assert.True(winner.Contributors.Length >= 3, $"block {forkRound} of the final ledger has {winner.Contributors.Length} contributors");
            foreach (int p in missing)
            {
                var lost = results[p].Rounds.Single(o => o.Block.Round == forkRound).Block;
                Assert.Empty(lost.Contributors);
                string line = Assert.Single(results[p].RolledBack);
                Assert.Contains($"ledger: fork at round {forkRound}: peer {p} rolls back block {forkRound} ({lost.ShortHash}, held by peers 1,3, ", line);
                Assert.Contains($"for block {forkRound} ({winner.ShortHash}, held by peers 0,2,4, ", line);
                Assert.Contains($"moved to {Path.Combine(dir.Path, $"peer-{p}.ledger.fork-{forkRound}")}", line);
                using var audit = LedgerFile.Open(Path.Combine(dir.Path, $"peer-{p}.ledger.fork-{forkRound}"));
                var audited = Assert.Single(audit.Blocks);
                Assert.Equal(lost.Hash, audited.Hash);
            }
            foreach (int p in kept)
            {
                Assert.Empty(results[p].RolledBack);
                Assert.False(File.Exists(Path.Combine(dir.Path, $"peer-{p}.ledger.fork-{forkRound}")));
            }
        }
    }

    [Fact]
    public void A_quorum_block_wins_over_an_empty_block_and_equal_weights_go_to_the_lower_hash()
    {
        var (chain, blocks) = LedgerRun.Chain(run.Directory, 0, 1);
        using (chain)
        {
            var zero = new float[chain.Model.Length];
            var empty = new LedgerBlock(2, chain.Head.Hash, null, chain.NextRoles(), [], [], LedgerDigest.Of(zero), LedgerDigest.Of(chain.Model), [], zero);
            chain.Append(empty, "test");   // a valid block: what a peer appends when no proposal arrived in time
            LedgerBlock[] quorum = [.. blocks.Take(3)], withEmpty = [.. chain.Blocks];
            Assert.True(LedgerForkChoice.Prefers(quorum, withEmpty));
            Assert.False(LedgerForkChoice.Prefers(withEmpty, quorum));
            Assert.Equal(1, LedgerForkChoice.CommonAncestor([.. quorum.Select(b => b.Hash)], [.. withEmpty.Select(b => b.Hash)]));
            // The quorum branch stays ahead however many empty blocks the other appends after it.
            Assert.False(LedgerForkChoice.Prefers([.. withEmpty, empty with { Round = 3 }, empty with { Round = 4 }], quorum));

            // Equal weight: exactly one of the two wins, the one whose first block after the ancestor has the lower hash.
            var other = empty with { ModelDigest = LedgerDigest.Of([1f]) };
            LedgerBlock[] a = [.. blocks.Take(2), empty], b = [.. blocks.Take(2), other];
            bool aLower = empty.Hash.AsSpan().SequenceCompareTo(other.Hash) < 0;
            Assert.Equal(aLower, LedgerForkChoice.Prefers(a, b));
            Assert.Equal(!aLower, LedgerForkChoice.Prefers(b, a));
        }
    }

    [Fact]
    public void A_tampered_fork_branch_is_refused_naming_the_block_and_the_sender_and_the_peer_keeps_its_chain()
    {
        using var dir = new TempDirectory();
        var (honest, blocks) = LedgerRun.Chain(run.Directory, 0, 2);
        honest.Dispose();
        var payload = (float[])blocks[2].Payload.Clone();
        payload[0] += 0.5f;
        var tampered = blocks[2] with { Payload = payload };   // heavier on paper: it keeps the contributors
        int[] others = [1, 2, 3, 4];
        var outcomes = InProcessWorld.Run<(string? RolledBack, List<string> Refusals, string Head)>(HonestLedgerFixture.Peers, world =>
        {
            var exchange = new PeerExchange(world, TimeSpan.FromSeconds(20));
            if (world.Rank == 0)
            {
                // A peer that announces the honest chain but sends a branch whose block 2 has a changed delta.
                var announcement = LedgerForkResolver.EncodeHashes([.. blocks.Take(3).Select(b => b.Hash)]);
                var branch = LedgerForkResolver.EncodeBranch([tampered]);
                exchange.Exchange(2, LedgerPhase.Heads, others.ToDictionary(p => p, _ => announcement), others, 4 + 32 * 4);
                exchange.Exchange(2, LedgerPhase.Branch, others.ToDictionary(p => p, _ => branch), others, 1 << 20);
                exchange.Drain();
                return (null, [], "");
            }
            // The others appended the empty block 2 (no proposal reached them in time).
            var (chain, _) = LedgerRun.Chain(run.Directory, world.Rank, 1);
            using (chain)
            using (var file = LedgerFile.Open(Path.Combine(dir.Path, $"peer-{world.Rank}.ledger")))
            {
                foreach (var block in chain.Blocks) file.Append(block);
                var zero = new float[chain.Model.Length];
                var empty = new LedgerBlock(2, chain.Head.Hash, null, chain.NextRoles(), [], [], LedgerDigest.Of(zero), LedgerDigest.Of(chain.Model), [], zero);
                chain.Append(empty, "test");
                file.Append(empty);
                var resolver = new LedgerForkResolver(world.Rank, chain, file, exchange, LedgerProtocol.MaxBlockBytes(HonestLedgerFixture.Peers, chain.Model.Length), 3);
                var (rolledBack, refusals) = resolver.Resolve(2);
                exchange.Drain();
                return (rolledBack, refusals, LedgerDigest.Hex(chain.Head.Hash));
            }
        });
        foreach (int p in others)
        {
            var (lost, refused, head) = outcomes[p];
            Assert.Null(lost);
            string message = Assert.Single(refused);
            Assert.Contains($"ledger: refused block 2 ({tampered.ShortHash}) from peer 0 (fork branch): its delta does not have the recorded delta digest (tampered delta)", message);
            string path = Path.Combine(dir.Path, $"peer-{p}.ledger");
            using var reopened = LedgerFile.Open(path);
            Assert.Equal(3, reopened.Blocks.Count);
            Assert.Equal(head, LedgerDigest.Hex(reopened.Blocks[2].Hash));
            Assert.Empty(reopened.Blocks[2].Contributors);
            Assert.False(File.Exists(path + ".fork-2"));
        }
    }

    [Fact]
    public void Truncating_the_chain_and_the_file_gives_back_the_ancestor_exactly()
    {
        using var dir = new TempDirectory();
        string copy = Path.Combine(dir.Path, "peer-0.ledger");
        File.Copy(Path.Combine(run.Directory, "peer-0.ledger"), copy);
        var (atOne, _) = LedgerRun.Chain(run.Directory, 0, 1);
        var (full, blocks) = LedgerRun.Chain(run.Directory, 0, 3);
        using (atOne)
        using (full)
        {
            full.TruncateTo(1);
            Assert.Equal(1, full.Height);
            Assert.Equal(LedgerDigest.Of(atOne.Model), LedgerDigest.Of(full.Model));
            Assert.Equal(atOne.Stakes, full.Stakes);
            full.Append(blocks[2], "test");   // and the chain goes on from there
        }
        using (var file = LedgerFile.Open(copy))
        {
            file.TruncateTo(2);
            file.Append(blocks[2]);
        }
        using (var reopened = LedgerFile.Open(copy))
        {
            Assert.Null(reopened.TornTail);
            Assert.Equal(blocks.Take(3).Select(b => b.Hash), reopened.Blocks.Select(b => b.Hash));
        }
    }
}
