using System.Text.Json;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Compression;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Tests;

/// <summary>ddp --compress end to end, in-process: it trains, every rank holds the same model, bytes are logged.</summary>
public class CompressedTrainingTests
{
    private static readonly TrainTestData Data = SyntheticDataset.Create(2400, 600, 64, 4, seed: 21);

    private static TrainSettings Settings(int ranks, CompressionSpec? compress, string log, bool overlap = true) => new()
    {
        Strategy = StrategyKind.Ddp,
        Ranks = ranks,
        Layers = [64, 64, 4],
        Device = "cpu",
        Epochs = 6,
        BatchSize = 64,
        Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.05f, 0.9f, 0f),
        Seed = 4,
        Compress = compress,
        Overlap = overlap,
        LogJson = log,
        Quiet = true,
    };

    /// <summary>Trains; returns every rank's final state and the last epoch's JSON record.</summary>
    private static (Checkpoint[] States, JsonElement LastEpoch) Train(TrainSettings settings)
    {
        var report = new ReportWriter(TextWriter.Null, settings.LogJson, quiet: true);
        var states = InProcessWorld.Run(settings.Ranks, world => Trainer.Run(world, settings, Data, null, report));
        var last = File.ReadAllLines(settings.LogJson!).Last();
        return (states, JsonDocument.Parse(last).RootElement.Clone());
    }

    [Theory]
    [InlineData("topk:0.01", 4, true)]
    [InlineData("powersgd:4", 4, true)]
    [InlineData("topk:0.01", 3, false)]
    [InlineData("fp16", 2, true)]
    [InlineData("bf16", 3, true)]
    public void Compressed_ddp_converges_with_identical_replicas(string spec, int ranks, bool overlap)
    {
        using var dir = new TempDirectory();
        var (plainStates, plain) = Train(Settings(ranks, null, dir.File("plain.jsonl"), overlap));
        var (states, compressed) = Train(Settings(ranks, CompressionSpec.Parse(spec), dir.File("compressed.jsonl"), overlap));
        for (int r = 1; r < ranks; r++) Assert.Equal(states[0].Parameters, states[r].Parameters);
        Assert.NotEqual(plainStates[0].Parameters, states[0].Parameters);   // the compressed path really ran
        double plainAccuracy = plain.GetProperty("test_accuracy").GetDouble();
        double accuracy = compressed.GetProperty("test_accuracy").GetDouble();
        // Chance is 25%; uncompressed ddp reaches about 90% here.
        Assert.True(plainAccuracy > 0.8, $"uncompressed ddp reached only {plainAccuracy:P1}");
        Assert.True(accuracy > plainAccuracy - 0.05, $"{spec}: test accuracy {accuracy:P1}, uncompressed {plainAccuracy:P1}");
        Assert.True(compressed.GetProperty("bytes_per_step").GetDouble() < plain.GetProperty("bytes_per_step").GetDouble());
    }

    [Fact]
    public void TopK_at_one_percent_on_eight_ranks_sends_over_20x_fewer_bytes()
    {
        using var dir = new TempDirectory();
        var plain = Settings(8, null, dir.File("plain.jsonl")) with { Epochs = 1 };
        var (_, uncompressed) = Train(plain);
        var (_, topk) = Train(plain with { Compress = CompressionSpec.Parse("topk:0.01"), LogJson = dir.File("topk.jsonl") });
        double ratio = uncompressed.GetProperty("bytes_per_step").GetDouble() / topk.GetProperty("bytes_per_step").GetDouble();
        Assert.InRange(ratio, 20, 26);
        Assert.Contains("--compress topk:0.01", topk.GetProperty("strategy").GetString());
    }

    [Theory]
    [InlineData("--ranks 2 --compress topk:0", "--compress 'topk:0': the top-k ratio must be a number in (0, 1]")]
    [InlineData("--ranks 2 --compress topk:1.01", "the top-k ratio must be a number in (0, 1]")]
    [InlineData("--ranks 2 --compress powersgd:0", "--compress 'powersgd:0': the PowerSGD rank must be an integer of at least 1")]
    [InlineData("--ranks 2 --compress zip", "--compress 'zip' is unknown")]
    [InlineData("--ranks 2 --compress fp16 --reproducible", "--compress fp16 and --reproducible cannot be combined")]
    [InlineData("--ranks 2 --compress topk:0.1 --secure", "--compress topk:0.1 and --secure cannot be combined")]
    [InlineData("--ranks 2 --strategy zero --compress bf16", "--compress applies to --strategy ddp only")]
    public void Bad_compress_options_are_refused(string args, string expected)
    {
        RefusedArguments.AssertRefused($"{args} --synthetic 400", expected);
    }
}
