using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>
/// ddp --reproducible: the same global batch gives bitwise the same model on 1, 2, 4 and 8 ranks, in-process and under
/// mpiexec, with the tree sum (the default; recursive doubling) and with the exact sum (any algorithm, any rank count
/// dividing the parts); and it trains like plain ddp.
/// </summary>
public class ReproducibleTrainingTests
{
    private static TrainSettings Reproducible(int ranks, ReproducibleSumKind sum = ReproducibleSumKind.Tree) =>
        Harness.Settings(StrategyKind.Ddp, ranks) with { Reproducible = true, ReproducibleParts = 8, ReproducibleSum = sum };

    private static readonly Lazy<Checkpoint> OneRank = new(() => Harness.Train(Reproducible(1)));
    private static readonly Lazy<Checkpoint> OneRankExact = new(() => Harness.Train(Reproducible(1, ReproducibleSumKind.Exact)));

    private static void AssertSameModel(Checkpoint expected, Checkpoint actual)
    {
        Assert.Equal(expected.Parameters, actual.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], actual.OptimizerSlots[0]);
        Assert.Equal(expected.OptimizerSteps, actual.OptimizerSteps);
    }

    /// <summary>The default (tree) sum: recursive doubling or recursive halving adds the ranks' subtrees, whatever
    /// Auto would pick (these layers are small, so auto takes recursive doubling; rh forces recursive halving).</summary>
    [Theory]
    [InlineData(2, AllReduceAlgorithm.Auto)]
    [InlineData(4, AllReduceAlgorithm.Auto)]
    [InlineData(8, AllReduceAlgorithm.Auto)]
    [InlineData(8, AllReduceAlgorithm.RecursiveDoubling)]
    [InlineData(2, AllReduceAlgorithm.RecursiveHalving)]
    [InlineData(4, AllReduceAlgorithm.RecursiveHalving)]
    [InlineData(8, AllReduceAlgorithm.RecursiveHalving)]
    public void N_ranks_give_bitwise_the_model_of_one_rank(int ranks, AllReduceAlgorithm algorithm) =>
        AssertSameModel(OneRank.Value, Harness.Train(Reproducible(ranks) with { Algorithm = algorithm }));

    /// <summary>A hidden layer wide enough (12 x 400 weights, over 16 KiB) that auto sends it through recursive
    /// halving and the small output layer through recursive doubling: still the one rank's bits.</summary>
    [Fact]
    public void Auto_with_a_bucket_for_recursive_halving_gives_the_same_bits()
    {
        var settings = Reproducible(1) with { Layers = [12, 400, 3] };
        var one = Harness.Train(settings);
        AssertSameModel(one, Harness.Train(settings with { Ranks = 8 }));
        AssertSameModel(one, Harness.Train(settings with { Ranks = 4, Overlap = false }));
    }

    [Fact]
    public void Tree_sum_without_overlap_gives_the_same_bits()
    {
        AssertSameModel(OneRank.Value, Harness.Train(Reproducible(4) with { Overlap = false }));
    }

    /// <summary>The exact (fixed-point) sum, with every algorithm: what the tree cannot serve.</summary>
    [Theory]
    [InlineData(2, AllReduceAlgorithm.Ring)]
    [InlineData(4, AllReduceAlgorithm.Tree)]
    [InlineData(4, AllReduceAlgorithm.Direct)]
    [InlineData(8, AllReduceAlgorithm.Auto)]
    [InlineData(8, AllReduceAlgorithm.RecursiveDoubling)]
    public void Exact_sum_on_N_ranks_gives_bitwise_the_model_of_one_rank(int ranks, AllReduceAlgorithm algorithm) =>
        AssertSameModel(OneRankExact.Value, Harness.Train(Reproducible(ranks, ReproducibleSumKind.Exact) with { Algorithm = algorithm }));

    [Fact]
    public void Exact_sum_serves_rank_counts_that_are_not_powers_of_two()
    {
        var settings = Reproducible(1, ReproducibleSumKind.Exact) with { ReproducibleParts = 6, BatchSize = 36 };
        var one = Harness.Train(settings);
        AssertSameModel(one, Harness.Train(settings with { Ranks = 3 }));
        AssertSameModel(one, Harness.Train(settings with { Ranks = 6, Algorithm = AllReduceAlgorithm.Ring }));
    }

    [Fact]
    public void It_trains_like_plain_ddp()
    {
        var plain = Harness.Train(Harness.Settings(StrategyKind.Ddp, 1));
        Assert.True(Harness.Movement(Reproducible(1), OneRank.Value.Parameters) > 1e-2f, "the reproducible run did not train");
        // The same gradients up to float rounding of the micro-batch sums: close, not equal.
        Harness.AssertClose(plain.Parameters, OneRank.Value.Parameters, 2e-4f, "reproducible (tree) vs plain ddp, 1 rank");
        Harness.AssertClose(plain.Parameters, OneRankExact.Value.Parameters, 2e-4f, "reproducible (exact) vs plain ddp, 1 rank");
        // Different summation orders: the two modes are each reproducible, but not equal to each other.
        Assert.NotEqual(OneRank.Value.Parameters, OneRankExact.Value.Parameters);
    }

    [Theory]
    [InlineData("--strategy zero --reproducible", "--reproducible applies to --strategy ddp only")]
    [InlineData("--reproducible --reproducible-parts 6 --ranks 4", "not a multiple of the 4 ranks")]
    [InlineData("--reproducible --reproducible-parts 0 --ranks 1", "--reproducible-parts must be from 1")]
    [InlineData("--reproducible --secure --ranks 2", "cannot be combined")]
    [InlineData("--reproducible --dp --dp-noise 1 --ranks 2", "--reproducible and --dp cannot be combined")]
    [InlineData("--reproducible --reproducible-parts 6 --ranks 2", "--reproducible-sum tree needs --reproducible-parts to be a power of two")]
    [InlineData("--reproducible --algorithm ring --ranks 2", "only recursive doubling and recursive halving follow, so --algorithm ring cannot serve it")]
    [InlineData("--reproducible --reproducible-sum fast --ranks 2", "--reproducible-sum 'fast' is unknown")]
    public void Bad_settings_are_refused_with_a_reason(string arguments, string reason)
    {
        var error = new StringWriter();
        Assert.NotEqual(0, TrainCommand.Run([.. $"{arguments} --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 1 --device cpu --no-checkpoint".Split(' ')], TextWriter.Null, error));
        Assert.Contains(reason, error.ToString());
    }

    [MpiTheory]
    [InlineData("rd", "tree")]
    [InlineData("auto", "tree")]
    [InlineData("rh", "tree")]
    [InlineData("ring", "exact")]
    [InlineData("native", "exact")]
    public void Mpi_run_on_four_ranks_equals_one_in_process_rank(string algorithm, string sum)
    {
        using var dir = new TempDirectory();
        string common = $"--strategy ddp --reproducible --reproducible-sum {sum} --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 2 --device cpu";
        string inProcess = dir.File("in-process.ckpt"), mpi = dir.File("mpi.ckpt");
        var inProcessOutput = new StringWriter();
        int inProcessExit = TrainCommand.Run([.. $"{common} --ranks 1 --checkpoint {inProcess}".Split(' ')], inProcessOutput, inProcessOutput);
        Assert.True(inProcessExit == 0, $"the in-process run exited with {inProcessExit}:\n{inProcessOutput}");
        string output = MpiTrain.Run(4, $"{common} --algorithm {algorithm} --checkpoint {mpi}");
        Assert.Contains("on 4 ranks (mpi (MPICH", output);
        var expected = CheckpointFile.Read(inProcess);
        var actual = CheckpointFile.Read(mpi);
        // On a mismatch, say where, with both runs' output, so a failure in CI explains itself.
        int firstDifference = Enumerable.Range(0, Math.Min(expected.Parameters.Length, actual.Parameters.Length))
            .FirstOrDefault(i => BitConverter.SingleToInt32Bits(expected.Parameters[i]) != BitConverter.SingleToInt32Bits(actual.Parameters[i]), -1);
        Assert.True(expected.Parameters.Length == actual.Parameters.Length && firstDifference < 0,
            $"parameters differ (lengths {expected.Parameters.Length} and {actual.Parameters.Length}, first difference at {firstDifference}).\nmpiexec output:\n{output}\nin-process output:\n{inProcessOutput}");
        Assert.Equal(expected.OptimizerSlots[0], actual.OptimizerSlots[0]);
    }
}
