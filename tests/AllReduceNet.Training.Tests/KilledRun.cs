using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>A 3-epoch run killed in its second epoch and resumed must end bitwise where an uninterrupted run ends.</summary>
internal static class KilledRun
{
    /// <param name="arguments">Train.dll's options for a 3-epoch run, without --checkpoint (added here).</param>
    public static void AssertResumeEqualsUninterrupted(string arguments)
    {
        using var dir = new TempDirectory();
        string[] Args(string checkpoint, params string[] more) => [.. $"{arguments} --quiet --checkpoint {checkpoint}".Split(' '), .. more];
        Assert.Equal(0, TrainCommand.Run(Args(dir.File("full.ckpt")), TextWriter.Null, TextWriter.Null));
        string killed = dir.File("killed.ckpt");
        Assert.ThrowsAny<Exception>(() => TrainCommand.Run(Args(killed), TextWriter.Null, TextWriter.Null,
            (epoch, step) => { if (epoch == 2 && step == 3) throw new InvalidOperationException("simulated kill"); }));
        Assert.Equal(1, CheckpointFile.Read(killed).CompletedEpochs);
        Assert.Equal(0, TrainCommand.Run(Args(killed, "--resume"), TextWriter.Null, TextWriter.Null));
        var expected = CheckpointFile.Read(dir.File("full.ckpt"));
        var resumed = CheckpointFile.Read(killed);
        Assert.Equal(expected.Parameters, resumed.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], resumed.OptimizerSlots[0]);
        Assert.Equal(expected.OptimizerSteps, resumed.OptimizerSteps);
    }
}
