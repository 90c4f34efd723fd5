using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Federated;
using AllReduceNet.Training.Ledger;

namespace AllReduceNet.Training.Tests.Ledger;

/// <summary>p2p-ledger runs: poisoning peers rejected, a tampering aggregator refused by every honest peer, a late
/// joiner catching up to the same model, bad options refused, and one run under mpiexec.</summary>
public sealed class LedgerTrainingTests
{
    [Fact]
    public void Sign_flipping_peers_updates_are_rejected_by_the_verifiers()
    {
        using var dir = new TempDirectory();
        const string args = "--ranks 8 --rounds 3 --attack signflip:4 --malicious 2 --ledger-timeout 30";
        var settings = LedgerRun.Settings(args);
        var malicious = new ClientAttack(settings.Federated!.Robust!.Attack!, 8, settings.Seed).Malicious;
        Assert.Equal(2, malicious.Length);
        var results = LedgerRun.Run($"{args} --ledger-dir {dir.Path}");
        Assert.Single(results.Select(r => r.HeadHash).Distinct());
        foreach (var outcome in results[0].Rounds)
        {
            var accepted = outcome.Block.Accepted.Select(a => a.Peer).ToArray();
            Assert.True(accepted.Length >= 5, $"round {outcome.Block.Round}: only {accepted.Length} accepted");
            Assert.True(!accepted.Intersect(malicious).Any(), $"round {outcome.Block.Round}: malicious peer(s) {string.Join(",", accepted.Intersect(malicious))} accepted");
            Assert.True(!outcome.Block.Contributors.Intersect(malicious).Any(), $"round {outcome.Block.Round}: a malicious update is in the aggregate");
        }
        LedgerRun.AssertSameFiles(dir.Path, 8);
    }

    [Fact]
    public void A_tampering_aggregator_is_refused_by_every_honest_peer_naming_the_block_and_the_peer()
    {
        using var dir = new TempDirectory();
        // Every peer is an aggregator each round, so peer 1 proposes a tampered block every round; t = 3 of the 5 suffice.
        var results = LedgerRun.Run($"--ranks 5 --rounds 2 --ledger-aggregators 5 --ledger-tamper 1 --ledger-timeout 30 --ledger-dir {dir.Path}");
        Assert.Single(results.Select(r => r.HeadHash).Distinct());
        for (int peer = 0; peer < 5; peer++)
            foreach (var outcome in results[peer].Rounds)
            {
                Assert.True(outcome.Block.Contributors.Length > 0, $"peer {peer}, round {outcome.Block.Round}: the honest block was not appended");
                Assert.Contains(outcome.Refusals, r => r.StartsWith($"ledger: refused block {outcome.Block.Round} (", StringComparison.Ordinal)
                    && r.Contains(") from peer 1: its delta does not have the recorded delta digest (tampered delta)", StringComparison.Ordinal));
            }
        LedgerRun.AssertSameFiles(dir.Path, 5);
    }

    [Fact]
    public void A_late_peer_fetches_and_verifies_the_ledger_and_ends_with_the_same_model()
    {
        using var dir = new TempDirectory();
        // Away until its neighbour holds block 1 (no wall clock decides when it joins), and a step timeout that honest
        // peers on a loaded machine meet: only the absent peer is ever waited for until a deadline.
        var results = LedgerRun.Run($"--ranks 5 --rounds 4 --ledger-late-peer 3@1 --ledger-timeout 10 --ledger-dir {dir.Path}");
        var late = results[3];
        Assert.True(late.CaughtUp >= 1 && late.FirstRound >= 2 && late.FirstRound <= 4, $"the late peer fetched {late.CaughtUp} blocks and started at round {late.FirstRound}");
        Assert.Equal(late.FirstRound - 1, late.CaughtUp);
        Assert.All(results, r => Assert.Equal(4, r.Height));
        Assert.All(results, r => Assert.Equal(results[0].ModelDigest, r.ModelDigest));
        LedgerRun.AssertSameFiles(dir.Path, 5);
        // While it was away, the others dropped it: no block before it joined holds its update.
        var blocks = results[0].Rounds.Select(o => o.Block).Where(b => b.Round < late.FirstRound).ToArray();
        Assert.NotEmpty(blocks);
        Assert.All(blocks, b => Assert.DoesNotContain(3, b.Contributors));
        // And once it joined, it trained with them: its update is in a block of the rounds it took part in.
        Assert.Contains(results[0].Rounds.Select(o => o.Block).Where(b => b.Round >= late.FirstRound), b => b.Contributors.Contains(3));
    }

    [Fact]
    public void A_restarted_peer_replays_its_file_and_continues_the_ledger()
    {
        using var dir = new TempDirectory();
        var first = LedgerRun.Run($"--ranks 4 --rounds 2 --ledger-timeout 30 --ledger-dir {dir.Path}");
        // Peer 2 lost its last block (a crash before the fsync of block 2 completed): it catches up at start.
        string path = Path.Combine(dir.Path, "peer-2.ledger");
        long withoutLast = new FileInfo(path).Length - 50;
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(withoutLast);
        var second = LedgerRun.Run($"--ranks 4 --rounds 4 --ledger-timeout 30 --ledger-dir {dir.Path}");
        Assert.Equal(1, second[2].CaughtUp);
        Assert.All(second, r => Assert.Equal(3, r.Rounds[0].Block.Round));
        Assert.Single(second.Select(r => r.ModelDigest).Distinct());
        using (var file = LedgerFile.Open(Path.Combine(dir.Path, "peer-0.ledger")))
            Assert.Equal(first[0].HeadHash, LedgerDigest.Hex(file.Blocks[2].Hash));
        LedgerRun.AssertSameFiles(dir.Path, 4);
    }

    [Theory]
    [InlineData("--strategy p2p-ledger --ranks 8 --aggregator krum:1", "--aggregator does not apply to --strategy p2p-ledger")]
    [InlineData("--strategy p2p-ledger --ranks 8 --clients 100", "--clients does not apply to --strategy p2p-ledger")]
    [InlineData("--strategy p2p-ledger --ranks 8 --ledger-verifiers 9", "--ledger-verifiers must be from 1 to the 8 peers, but was 9")]
    [InlineData("--strategy p2p-ledger --ranks 8 --ledger-krum-f 3", "--ledger-krum-f 3: Multi-Krum needs n >= 2f + 3 updates")]
    [InlineData("--strategy p2p-ledger --ranks 8 --attack alie --malicious 2", "--attack alie needs the benign updates")]
    [InlineData("--strategy p2p-ledger --ranks 8 --ledger-late-peer 9:3", "--ledger-late-peer '9:3' must be RANK:SECONDS")]
    [InlineData("--strategy p2p-ledger --ranks 8 --ledger-late-peer 3@0", "--ledger-late-peer '3@0' must be RANK@BLOCKS with a rank below 8 and at least 1 block")]
    [InlineData("--strategy p2p-ledger --ranks 8 --ledger-noisers 2", "--ledger-noisers applies with --ledger-noise only")]
    [InlineData("--strategy ddp --ranks 8 --ledger-dir x", "--ledger-dir applies to --strategy p2p-ledger only")]
    [InlineData("--strategy p2p-ledger --ranks 8 --rounds 5 --ledger-miss-block 6:4", "--ledger-miss-block '6:4' must be ROUND:RANK[,RANK...] with a round from 1 to --rounds 5 and distinct ranks below 8")]
    [InlineData("--strategy p2p-ledger --ranks 8 --ledger-miss-block 2:4,4", "--ledger-miss-block '2:4,4' must be ROUND:RANK[,RANK...]")]
    [InlineData("--strategy p2p-ledger --ranks 8 --ledger-miss-block 2:8", "distinct ranks below 8, e.g. 2:4,6")]
    [InlineData("--strategy gossip --ranks 8 --ledger-miss-block 2:4", "--ledger-miss-block applies to --strategy p2p-ledger only")]
    public void Bad_ledger_options_are_refused_before_training(string args, string expected) =>
        RefusedArguments.AssertRefused($"{args} --layers 12,16,8,3 --synthetic 480", expected);

    [MpiTheory]
    [InlineData("")]
    [InlineData("--ledger-miss-block 2:1,3")]   // a fork between processes, resolved over MPI
    public void P2p_ledger_under_mpiexec_with_4_ranks(string options)
    {
        using var dir = new TempDirectory();
        string output = MpiTrain.Run(4, $"{LedgerRun.Common.Replace(" --quiet", "").Replace(" --no-checkpoint", "")} --rounds 3 --ledger-timeout 20 --ledger-dir {dir.Path} --checkpoint {dir.File("mpi.ckpt")} {options}".TrimEnd());
        Assert.Contains("on 4 peers (mpi (MPICH", output);
        Assert.Contains("ledger: 3 blocks", output);
        Assert.DoesNotContain("refused", output);
        foreach (int p in options.Length > 0 ? [1, 3] : Array.Empty<int>())
        {
            Assert.Contains($"ledger: fork at round 2: peer {p} rolls back block 2 (", output);
            Assert.True(File.Exists(dir.File($"peer-{p}.ledger.fork-2")), $"peer {p} has no audit file");
        }
        if (options.Length == 0) Assert.DoesNotContain("rolls back", output);
        LedgerRun.AssertSameFiles(dir.Path, 4);
        Assert.Equal(3, CheckpointFile.Read(dir.File("mpi.ckpt")).CompletedEpochs);
    }
}
