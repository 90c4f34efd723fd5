using System.Reflection;
using AllReduceNet.Training.Cli;
using CommandLine;

namespace AllReduceNet.Training.Tests;

/// <summary>Bad arguments are refused with a clear message before any work starts.</summary>
public class CommandLineTests
{
    private static (int Code, string Error) Run(string args, TempDirectory dir)
    {
        var error = new StringWriter();
        string checkpoint = dir.File("never.ckpt");
        int code = TrainCommand.Run([.. args.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--checkpoint", checkpoint], TextWriter.Null, error);
        Assert.False(File.Exists(checkpoint), "training started although the arguments were bad");
        return (code, error.ToString());
    }

    [Theory]
    [InlineData("--strategy sideways", "--strategy 'sideways' is unknown")]
    [InlineData("--strategy ps --ranks 4 --servers 4", "--servers 4 must be fewer than the 4 ranks")]
    [InlineData("--strategy ps --ranks 4 --servers 0", "--servers must be at least 1")]
    [InlineData("--strategy pipeline --ranks 2 --micro-batches 0", "--micro-batches must be at least 1")]
    [InlineData("--strategy pipeline --ranks 8 --layers 784,256,128,10", "3 dense layers cannot be split over 8 ranks")]
    [InlineData("--strategy pipeline --ranks 2 --split 2,2 --layers 784,256,128,10", "--split '2,2' covers 4 layers")]
    [InlineData("--strategy pipeline --ranks 3 --split 2,1", "names 2 stages, but there are 3 ranks")]
    [InlineData("--data /nonexistent/fashion", "data directory '/nonexistent/fashion' does not exist")]
    [InlineData("--data /nonexistent/fashion", "sudo apt-get install dataset-fashion-mnist")]
    [InlineData("--layers 784,abc,10", "--layers '784,abc,10' is not a comma-separated list")]
    [InlineData("--layers 10", "needs at least an input and an output size")]
    [InlineData("--ranks 0", "--ranks must be at least 1")]
    [InlineData("--algorithm spiral", "--algorithm 'spiral' is unknown")]
    [InlineData("--device tpu", "--device 'tpu' is unknown")]
    [InlineData("--optimizer lbfgs", "--optimizer 'lbfgs' is unknown")]
    [InlineData("--algorithm native --ranks 2", "--algorithm native needs the MPI transport")]
    [InlineData("--lr-schedule step", "--lr-schedule 'step' is unknown")]
    [InlineData("--normalize zscore", "--normalize 'zscore' is unknown")]
    [InlineData("--normalize per-sample --export-onnx m.onnx", "--export-onnx cannot carry --normalize per-sample")]
    [InlineData("--export-model models/fashion/latest", "must be a NAME/VERSION directory with a numeric VERSION")]
    [InlineData("--export-model 1", "must be a NAME/VERSION directory with a numeric VERSION")]
    [InlineData("--strategy ps --ranks 3 --sync --async", "--sync and --async exclude each other")]
    [InlineData("--sync", "--sync applies to --strategy ps only")]
    [InlineData("--batch-size 4 --ranks 8", "--batch-size 4 is smaller than the 8 ranks")]
    [InlineData("--epochs 0", "--epochs must be at least 1")]
    [InlineData("--synthetic 100 --layers 20,5 --batch-size 200", "--synthetic 100 is smaller than --batch-size 200")]
    public void Bad_arguments_give_a_clear_error_and_exit_code_2(string args, string expected)
    {
        using var dir = new TempDirectory();
        var (code, error) = Run(args, dir);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.StartsWith("error: ", error);
    }

    [Fact]
    public void Resume_without_a_checkpoint_file_names_it()
    {
        using var dir = new TempDirectory();
        var (code, error) = Run("--resume --synthetic 100 --layers 20,5 --batch-size 10", dir);
        Assert.Equal(2, code);
        Assert.Contains("never.ckpt", error);
    }

    [Fact]
    public void Unknown_options_are_refused_with_usage()
    {
        var error = new StringWriter();
        Assert.Equal(1, TrainCommand.Run(["--frobnicate"], TextWriter.Null, error));
        Assert.Contains("frobnicate", error.ToString());
    }

    [Fact]
    public void Help_documents_every_option()
    {
        var output = new StringWriter();
        Assert.Equal(0, TrainCommand.Run(["--help"], output, TextWriter.Null));
        string help = output.ToString();
        var options = typeof(TrainCommand).Assembly.GetType("AllReduceNet.Training.Cli.TrainOptions")!
            .GetProperties().Select(p => p.GetCustomAttribute<OptionAttribute>()).Where(a => a is not null).ToList();
        Assert.True(options.Count >= 20, $"only {options.Count} options found");
        foreach (var option in options)
        {
            Assert.Contains("--" + option!.LongName, help);
            Assert.False(string.IsNullOrWhiteSpace(option.HelpText), $"--{option.LongName} has no help text");
        }
    }
}
