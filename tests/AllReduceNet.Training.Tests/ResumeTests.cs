using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>Kill a run in the middle of an epoch, resume from its checkpoint: the result equals an uninterrupted run.</summary>
public class ResumeTests
{
    private sealed class SimulatedKill : Exception
    {
        public SimulatedKill() : base("simulated kill") { }
    }

    [Theory]
    [InlineData("ddp", "--ranks 3")]
    [InlineData("zero", "--ranks 3")]
    [InlineData("pipeline", "--ranks 3")]
    [InlineData("ps", "--ranks 3 --servers 1 --sync")]
    public void Resume_after_a_kill_loses_at_most_the_current_epoch_and_ends_identical(string strategy, string extra)
    {
        using var dir = new TempDirectory();
        string[] Args(string checkpoint, params string[] more) =>
            [.. $"--strategy {strategy} {extra} --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 4 --device cpu --quiet --checkpoint {checkpoint}".Split(' '), .. more];

        Assert.Equal(0, TrainCommand.Run(Args(dir.File("full.ckpt")), TextWriter.Null, TextWriter.Null));

        string killed = dir.File("killed.ckpt");
        Assert.ThrowsAny<Exception>(() => TrainCommand.Run(Args(killed), TextWriter.Null, TextWriter.Null,
            (epoch, step) => { if (epoch == 3 && step == 4) throw new SimulatedKill(); }));
        Assert.Equal(2, CheckpointFile.Read(killed).CompletedEpochs);

        var error = new StringWriter();
        Assert.Equal(0, TrainCommand.Run(Args(killed, "--resume"), TextWriter.Null, error));
        var expected = CheckpointFile.Read(dir.File("full.ckpt"));
        var resumed = CheckpointFile.Read(killed);
        Assert.Equal(4, resumed.CompletedEpochs);
        Assert.Equal(expected.Parameters, resumed.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], resumed.OptimizerSlots[0]);
        Assert.Equal(expected.OptimizerSteps, resumed.OptimizerSteps);
    }

    [Fact]
    public void Resume_refuses_a_damaged_checkpoint_before_training()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.ckpt");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        var error = new StringWriter();
        int code = TrainCommand.Run(["--synthetic", "240", "--layers", "12,10,3", "--ranks", "2", "--checkpoint", path, "--resume"], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains(path, error.ToString());
    }

    [Fact]
    public void Resume_refuses_a_checkpoint_of_another_model()
    {
        using var dir = new TempDirectory();
        string path = dir.File("other.ckpt");
        Assert.Equal(0, TrainCommand.Run(["--synthetic", "240", "--layers", "12,10,3", "--ranks", "2", "--epochs", "1", "--batch-size", "24", "--quiet", "--checkpoint", path], TextWriter.Null, TextWriter.Null));
        var error = new StringWriter();
        int code = TrainCommand.Run(["--synthetic", "240", "--layers", "12,6,3", "--ranks", "2", "--checkpoint", path, "--resume"], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains("12,10,3", error.ToString());
    }
}
