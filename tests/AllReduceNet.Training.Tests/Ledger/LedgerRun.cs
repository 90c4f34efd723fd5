using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Ledger;
using AllReduceNet.Training.Training;
using CommandLine;

namespace AllReduceNet.Training.Tests.Ledger;

/// <summary>In-process p2p-ledger runs on the harness's synthetic data, returning every peer's result.</summary>
internal static class LedgerRun
{
    public const string Common = "--strategy p2p-ledger --layers 12,16,8,3 --synthetic 480 --local-batch 16 --lr 0.1 --no-checkpoint --quiet --seed 3";

    public static TrainSettings Settings(string args)
    {
        var parser = new Parser(with => { with.HelpWriter = null; with.CaseInsensitiveEnumValues = true; });
        var parsed = parser.ParseArguments<TrainOptions>($"{Common} {args}".Split(' ', StringSplitOptions.RemoveEmptyEntries));
        return SettingsValidator.Validate(Assert.IsType<Parsed<TrainOptions>>(parsed).Value, null);
    }

    public static LedgerPeerResult[] Run(string args) => Run(Settings(args));

    public static LedgerPeerResult[] Run(TrainSettings settings)
    {
        var report = new ReportWriter(TextWriter.Null, null, quiet: true);
        return InProcessWorld.Run(settings.Ranks, world => LedgerTrainer.RunPeer(world, settings, Harness.Data, report));
    }

    /// <summary>Every peer's ledger file holds the same bytes: the same blocks in the same order.</summary>
    public static void AssertSameFiles(string directory, int peers)
    {
        var first = File.ReadAllBytes(Path.Combine(directory, "peer-0.ledger"));
        for (int p = 1; p < peers; p++)
            Assert.True(first.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(directory, $"peer-{p}.ledger"))), $"peer {p}'s ledger file differs from peer 0's");
    }

    /// <summary>A chain built from <paramref name="directory"/>'s peer file up to and including block <paramref name="height"/>.</summary>
    public static (LedgerChain Chain, IReadOnlyList<LedgerBlock> Blocks) Chain(string directory, int peer, int height)
    {
        using var file = LedgerFile.Open(Path.Combine(directory, $"peer-{peer}.ledger"));
        var chain = new LedgerChain(file.Blocks[0], "genesis");
        foreach (var block in file.Blocks.Skip(1).Take(height)) chain.Append(block, "test");
        return (chain, file.Blocks);
    }
}
