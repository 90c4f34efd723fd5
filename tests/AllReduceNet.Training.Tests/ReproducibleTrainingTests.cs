using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>
/// ddp --reproducible: the same global batch gives bitwise the same model on 1, 2, 4 and 8 ranks, with any AllReduce
/// algorithm, in-process and under mpiexec; and it trains like plain ddp.
/// </summary>
public class ReproducibleTrainingTests
{
    private static TrainSettings Reproducible(int ranks) => Harness.Settings(StrategyKind.Ddp, ranks) with { Reproducible = true, ReproducibleParts = 8 };

    private static readonly Lazy<Checkpoint> OneRank = new(() => Harness.Train(Reproducible(1)));

    [Theory]
    [InlineData(2, AllReduceAlgorithm.Ring)]
    [InlineData(4, AllReduceAlgorithm.Tree)]
    [InlineData(4, AllReduceAlgorithm.Direct)]
    [InlineData(8, AllReduceAlgorithm.Auto)]
    [InlineData(8, AllReduceAlgorithm.RecursiveDoubling)]
    public void N_ranks_give_bitwise_the_model_of_one_rank(int ranks, AllReduceAlgorithm algorithm)
    {
        var reference = OneRank.Value;
        var result = Harness.Train(Reproducible(ranks) with { Algorithm = algorithm });
        Assert.Equal(reference.Parameters, result.Parameters);
        Assert.Equal(reference.OptimizerSlots[0], result.OptimizerSlots[0]);
        Assert.Equal(reference.OptimizerSteps, result.OptimizerSteps);
    }

    [Fact]
    public void It_trains_like_plain_ddp()
    {
        var plain = Harness.Train(Harness.Settings(StrategyKind.Ddp, 1));
        Assert.True(Harness.Movement(Reproducible(1), OneRank.Value.Parameters) > 1e-2f, "the reproducible run did not train");
        // The same gradients up to float rounding of the micro-batch sums: close, not equal.
        Harness.AssertClose(plain.Parameters, OneRank.Value.Parameters, 2e-4f, "reproducible vs plain ddp, 1 rank");
    }

    [Theory]
    [InlineData("--strategy zero --reproducible", "--reproducible applies to --strategy ddp only")]
    [InlineData("--reproducible --reproducible-parts 6 --ranks 4", "not a multiple of the 4 ranks")]
    [InlineData("--reproducible --reproducible-parts 0 --ranks 1", "--reproducible-parts must be from 1")]
    [InlineData("--reproducible --secure --ranks 2", "cannot be combined")]
    [InlineData("--reproducible --dp --dp-noise 1 --ranks 2", "--reproducible and --dp cannot be combined")]
    public void Bad_settings_are_refused_with_a_reason(string arguments, string reason)
    {
        var error = new StringWriter();
        Assert.NotEqual(0, TrainCommand.Run([.. $"{arguments} --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 1 --device cpu --no-checkpoint".Split(' ')], TextWriter.Null, error));
        Assert.Contains(reason, error.ToString());
    }

    [MpiTheory]
    [InlineData("ring")]
    [InlineData("native")]
    public void Mpi_run_on_four_ranks_equals_one_in_process_rank(string algorithm)
    {
        using var dir = new TempDirectory();
        string common = "--strategy ddp --reproducible --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 2 --device cpu";
        string inProcess = dir.File("in-process.ckpt"), mpi = dir.File("mpi.ckpt");
        Assert.Equal(0, TrainCommand.Run([.. $"{common} --ranks 1 --checkpoint {inProcess}".Split(' ')], TextWriter.Null, TextWriter.Null));
        string output = MpiTrain.Run(4, $"{common} --algorithm {algorithm} --checkpoint {mpi}");
        Assert.Contains("on 4 ranks (mpi (MPICH", output);
        var expected = CheckpointFile.Read(inProcess);
        var actual = CheckpointFile.Read(mpi);
        Assert.Equal(expected.Parameters, actual.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], actual.OptimizerSlots[0]);
    }
}
