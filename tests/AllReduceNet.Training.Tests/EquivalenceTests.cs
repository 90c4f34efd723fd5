using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Tests;

/// <summary>Each strategy against the single-rank reference with the same global batch.</summary>
public class EquivalenceTests
{
    private const float Tolerance = 2e-4f;

    private static readonly Lazy<AllReduceNet.Training.Checkpoints.Checkpoint> SingleRank = new(() => Harness.Train(Harness.Settings(StrategyKind.Ddp, 1)));

    [Theory]
    [InlineData(2)]
    [InlineData(3)]   // 40 samples over 3 ranks: uneven shards of 13, 13, 14
    [InlineData(5)]
    public void Ddp_N_ranks_equals_one_rank_with_the_same_global_batch(int ranks)
    {
        var reference = SingleRank.Value;
        Assert.True(Harness.Movement(Harness.Settings(StrategyKind.Ddp, 1), reference.Parameters) > 1e-2f, "the reference run did not train");
        var result = Harness.Train(Harness.Settings(StrategyKind.Ddp, ranks));
        Harness.AssertClose(reference.Parameters, result.Parameters, Tolerance, $"ddp {ranks} ranks vs 1 rank");
        Harness.AssertClose(reference.OptimizerSlots[0], result.OptimizerSlots[0], Tolerance, "momentum");
        Assert.Equal(reference.OptimizerSteps, result.OptimizerSteps);
    }

    [Theory]
    [InlineData(AllReduceNet.Collectives.AllReduceAlgorithm.Ring, true)]
    [InlineData(AllReduceNet.Collectives.AllReduceAlgorithm.Tree, true)]
    [InlineData(AllReduceNet.Collectives.AllReduceAlgorithm.Auto, false)]
    public void Ddp_equals_one_rank_with_each_algorithm_and_with_or_without_overlap(AllReduceNet.Collectives.AllReduceAlgorithm algorithm, bool overlap)
    {
        var result = Harness.Train(Harness.Settings(StrategyKind.Ddp, 4) with { Algorithm = algorithm, Overlap = overlap });
        Harness.AssertClose(SingleRank.Value.Parameters, result.Parameters, Tolerance, $"ddp 4 ranks, {algorithm}, overlap {overlap}");
    }

    [Fact]
    public void Ddp_with_adam_on_two_ranks_equals_one_rank()
    {
        var one = Harness.Settings(StrategyKind.Ddp, 1) with { Optimizer = new OptimizerSettings(OptimizerKind.Adam, 1e-3f, 0, 0) };
        var reference = Harness.Train(one);
        var result = Harness.Train(one with { Ranks = 2 });
        Harness.AssertClose(reference.Parameters, result.Parameters, Tolerance, "adam ddp 2 vs 1");
        Harness.AssertClose(reference.OptimizerSlots[1], result.OptimizerSlots[1], 1e-3f, "adam second moment");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void Zero_equals_ddp(int ranks)
    {
        var ddp = Harness.Train(Harness.Settings(StrategyKind.Ddp, ranks));
        var zero = Harness.Train(Harness.Settings(StrategyKind.Zero, ranks));
        Harness.AssertClose(ddp.Parameters, zero.Parameters, Tolerance, "zero vs ddp");
        Harness.AssertClose(ddp.OptimizerSlots[0], zero.OptimizerSlots[0], Tolerance, "gathered momentum shards vs ddp momentum");
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 4)]
    [InlineData(3, 7)]   // 40 samples in 7 micro-batches: uneven
    public void Pipeline_equals_single_rank(int stages, int microBatches)
    {
        var result = Harness.Train(Harness.Settings(StrategyKind.Pipeline, stages) with { MicroBatches = microBatches });
        Harness.AssertClose(SingleRank.Value.Parameters, result.Parameters, Tolerance, $"pipeline {stages} stages, {microBatches} micro-batches");
    }

    [Fact]
    public void Ps_sync_is_close_to_single_rank()
    {
        var settings = Harness.Settings(StrategyKind.ParameterServer, 4) with { Servers = 2 };
        var result = Harness.Train(settings);
        Harness.AssertClose(SingleRank.Value.Parameters, result.Parameters, Tolerance, "ps sync (2 workers, 2 servers) vs 1 rank");
    }

    [Fact]
    public void Ps_async_trains_to_an_accuracy_near_sync()
    {
        var settings = Harness.Settings(StrategyKind.ParameterServer, 4, epochs: 3) with { Servers = 1, Async = true, Staleness = 1 };
        var output = new StringWriter();
        var result = Harness.Train(settings, output: output);
        Assert.True(Harness.Movement(settings, result.Parameters) > 1e-2f);
        string text = output.ToString();
        var last = text.Split('\n').Last(l => l.StartsWith("epoch"));
        double accuracy = double.Parse(last.Split("test acc ")[1].Split('%')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(accuracy >= 80, $"ps --async reached only {accuracy}% test accuracy:\n{text}");
        Assert.Contains("async:", text);
        // The staleness bound holds: with 3 workers and bound 1, a worker's parameters are at most (1 + 1) x 3 updates old.
        long largest = long.Parse(text.Split("largest staleness seen ")[1].Split(' ')[0]);
        Assert.InRange(largest, 0, 6);
    }
}
