using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>
/// <c>--algorithm hierarchical</c> on the command line. In-process ranks are one node, so the hierarchical AllReduce is
/// a reduce-scatter and all-gather inside it; with --reproducible --reproducible-sum exact (the tree sum runs recursive
/// doubling only) the model is bitwise the one Auto gives. Across
/// hosts: <see cref="TrainAcrossHostsTests"/>.
/// </summary>
public class HierarchicalAlgorithmTests
{
    [Fact]
    public void Hierarchical_is_accepted_and_trains_the_model_of_auto_with_reproducible()
    {
        using var dir = new TempDirectory();
        string common = "--strategy ddp --reproducible --reproducible-sum exact --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 1 --device cpu --ranks 4";
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.True(TrainCommand.Run([.. $"{common} --algorithm hierarchical --checkpoint {dir.File("h.ckpt")}".Split(' ')], output, error) == 0, error.ToString());
        Assert.Contains("AllReduce Hierarchical", output.ToString());
        Assert.Equal(0, TrainCommand.Run([.. $"{common} --checkpoint {dir.File("auto.ckpt")}".Split(' ')], TextWriter.Null, TextWriter.Null));
        Assert.Equal(CheckpointFile.Read(dir.File("auto.ckpt")).Parameters, CheckpointFile.Read(dir.File("h.ckpt")).Parameters);
    }

    [Fact]
    public void An_unknown_algorithm_is_refused_naming_hierarchical_among_the_choices()
    {
        var error = new StringWriter();
        Assert.Equal(2, TrainCommand.Run(["--algorithm", "hierarchal", "--synthetic", "240", "--layers", "12,10,3", "--ranks", "2", "--no-checkpoint"], TextWriter.Null, error));
        Assert.Contains("--algorithm 'hierarchal' is unknown", error.ToString());
        Assert.Contains("hierarchical", error.ToString());
    }
}
