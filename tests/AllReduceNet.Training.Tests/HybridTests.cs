using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>--strategy hybrid (stages x data-parallel replicas) and --strategy downpour (replicas + async sharded server).</summary>
public class HybridTests
{
    // Pipelined micro-batches and the replicas' AllReduce sum in another order than one rank does: float rounding only.
    private const float Tolerance = 1e-5f;

    private static TrainSettings Hybrid(int ranks, int stages, int epochs = 1) =>
        Harness.Settings(StrategyKind.Hybrid, ranks, epochs: epochs) with { Stages = stages, Split = Harness.EvenSplit(Harness.Layers.Length - 1, stages) };

    [Theory]
    [InlineData(2, 2, 4)]   // 2 stages x 1 replica: the pipeline alone
    [InlineData(4, 2, 4)]   // 2 stages x 2 replicas
    [InlineData(6, 3, 3)]   // 3 stages x 2 replicas
    [InlineData(3, 1, 1)]   // 1 stage x 3 replicas (uneven shares 13, 13, 14): data parallel alone
    [InlineData(6, 2, 7)]   // 2 stages x 3 replicas, uneven micro-batches
    public void Hybrid_equals_single_rank_training(int ranks, int stages, int microBatches)
    {
        var one = Harness.Settings(StrategyKind.Ddp, 1, epochs: 1);
        var reference = Harness.Train(one);
        Assert.True(Harness.Movement(one, reference.Parameters) > 1e-2f, "the reference run did not train");
        var result = Harness.Train(Hybrid(ranks, stages) with { MicroBatches = microBatches });
        Harness.AssertClose(reference.Parameters, result.Parameters, Tolerance, $"hybrid {stages} stages x {ranks / stages} replicas vs 1 rank");
        Harness.AssertClose(reference.OptimizerSlots[0], result.OptimizerSlots[0], Tolerance, "momentum");
        Assert.Equal(reference.OptimizerSteps, result.OptimizerSteps);
    }

    [Fact]
    public void Hybrid_reports_its_grid_and_its_waits()
    {
        var output = new StringWriter();
        Harness.Train(Hybrid(4, 2), output: output);
        string text = output.ToString();
        Assert.Contains("hybrid: 2 stages (layers per stage 1,2) x 2 data-parallel replicas", text);
        Assert.Contains("waiting on the replicas' AllReduce", text);
    }

    [Fact]
    public void Hybrid_resumed_after_a_kill_ends_identical_to_an_uninterrupted_run() =>
        KilledRun.AssertResumeEqualsUninterrupted("--strategy hybrid --stages 2 --ranks 4 --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 3 --device cpu");

    [Fact]
    public void Hybrid_writes_one_json_record_per_epoch()
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        Assert.Equal(0, TrainCommand.Run([.. $"--strategy hybrid --stages 2 --ranks 4 --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 2 --device cpu --quiet --no-checkpoint --log-json {log}".Split(' ')],
            TextWriter.Null, TextWriter.Null));
        var lines = File.ReadAllLines(log);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, line => Assert.Contains("hybrid", line));
    }

    [MpiTheory]
    [InlineData("--strategy hybrid --stages 2")]
    [InlineData("--strategy hybrid --stages 4 --layers 12,10,8,6,3")]
    public void Hybrid_under_mpiexec_equals_the_in_process_run(string strategy)
    {
        // The ring on both transports: the same algorithm sums in the same order, so the results are bitwise equal.
        string layers = strategy.Contains("--layers") ? "" : "--layers 12,10,8,3";
        MpiTrain.AssertEqualsInProcess(strategy.Contains("--stages 4") ? 8 : 4,
            $"{strategy} {layers} --synthetic 240 --batch-size 24 --device cpu --algorithm ring".Replace("  ", " "));
    }

    [Theory]
    [InlineData(5, 1, 2, 1, 1)]   // 2 replicas of 2 stages, 1 server
    [InlineData(4, 2, 1, 2, 3)]   // 2 single-rank replicas, 2 servers, push every 2 and fetch every 3 steps
    [InlineData(5, 2, 3, 1, 1)]   // 1 replica of 3 stages, 2 servers: the stage boundaries cut the servers' slices
    public void Downpour_converges(int ranks, int servers, int stages, int pushEvery, int fetchEvery)
    {
        var settings = Harness.Settings(StrategyKind.Downpour, ranks, epochs: 3) with
        {
            Servers = servers,
            Stages = stages,
            Split = Harness.EvenSplit(Harness.Layers.Length - 1, stages),
            PushEvery = pushEvery,
            FetchEvery = fetchEvery,
            Optimizer = new Optim.OptimizerSettings(Optim.OptimizerKind.Sgd, 0.2f, 0f, 0f),
        };
        var output = new StringWriter();
        var result = Harness.Train(settings, output: output);
        Assert.True(Harness.Movement(settings, result.Parameters) > 1e-2f, "downpour did not train");
        string text = output.ToString();
        var last = text.Split('\n').Last(l => l.StartsWith("epoch", StringComparison.Ordinal));
        double accuracy = double.Parse(last.Split("test acc ")[1].Split('%')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(accuracy >= 85, $"downpour reached only {accuracy}% test accuracy:\n{text}");
        int replicas = (ranks - servers) / stages;
        Assert.Contains($"downpour: {replicas} model replica", text);
        // Every stage of every replica pushed at its push steps (and at each epoch's end).
        int pushesPerEpoch = Enumerable.Range(0, 12).Count(t => (t + 1) % pushEvery == 0 || t == 11);
        Assert.Contains($"pushes: {3 * pushesPerEpoch * replicas * stages} stage pushes", text);
    }

    [Theory]
    [InlineData("--strategy hybrid --ranks 6 --stages 4 --layers 12,10,8,6,3", "--ranks 6 is not a multiple of --stages 4")]
    [InlineData("--strategy hybrid --ranks 8 --stages 4", "--stages 4 exceeds the 3 dense layers of --layers '784,256,128,10'")]
    [InlineData("--strategy hybrid --ranks 4 --stages 0", "--stages must be at least 1")]
    [InlineData("--strategy hybrid --ranks 4 --stages 2 --split 1,1,1", "--split '1,1,1' names 3 stages, but --stages is 2")]
    [InlineData("--strategy hybrid --ranks 8 --stages 2 --batch-size 8 --micro-batches 4", "gives a replica 2 samples per step, fewer than --micro-batches 4")]
    [InlineData("--strategy hybrid --ranks 4 --push-every 2", "--push-every applies to --strategy downpour only")]
    [InlineData("--strategy ddp --stages 2", "--stages applies to --strategy hybrid and downpour only")]
    [InlineData("--strategy downpour --ranks 4 --servers 4", "--servers 4 must be fewer than the 4 ranks")]
    [InlineData("--strategy downpour --ranks 4 --servers 1 --stages 2", "the 3 ranks that are not servers (--ranks 4 minus --servers 1) are not a multiple of --stages 2")]
    [InlineData("--strategy downpour --ranks 3 --fetch-every 0", "--fetch-every must be at least 1")]
    [InlineData("--strategy downpour --ranks 3 --push-every -1", "--push-every must be at least 1")]
    [InlineData("--strategy hybrid --ranks 4 --dp --dp-noise 1", "--dp is not available with --strategy hybrid")]
    public void Bad_hybrid_and_downpour_settings_are_refused_with_a_clear_error(string args, string expected)
    {
        using var dir = new TempDirectory();
        var error = new StringWriter();
        string checkpoint = dir.File("never.ckpt");
        int code = TrainCommand.Run([.. args.Split(' '), "--checkpoint", checkpoint], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains(expected, error.ToString());
        Assert.False(File.Exists(checkpoint), "training started although the arguments were bad");
    }
}
