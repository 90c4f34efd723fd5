using System.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>Train.dll under mpiexec (ranks are processes) ends with exactly the parameters of the same run in-process.</summary>
public class MpiTransportTests
{
    [MpiTheory]
    [InlineData("--strategy ddp")]
    [InlineData("--strategy ddp --secure")]   // masked integer sums are exact, so bitwise equal across transports too
    [InlineData("--strategy zero")]
    [InlineData("--strategy pipeline")]
    [InlineData("--strategy ps --servers 1 --sync")]
    public void Mpi_run_equals_in_process_run(string strategy)
    {
        using var dir = new TempDirectory();
        string common = $"{strategy} --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 2 --device cpu";
        string inProcess = dir.File("in-process.ckpt"), mpi = dir.File("mpi.ckpt");
        Assert.Equal(0, TrainCommand.Run([.. $"{common} --ranks 3 --checkpoint {inProcess}".Split(' ')], TextWriter.Null, TextWriter.Null));

        string output = MpiTrain.Run(3, $"{common} --checkpoint {mpi}");
        Assert.Contains("on 3 ranks (mpi (MPICH", output);   // it really ran on the MPI transport

        var expected = CheckpointFile.Read(inProcess);
        var actual = CheckpointFile.Read(mpi);
        Assert.Equal(2, actual.CompletedEpochs);
        Assert.Equal(expected.Parameters, actual.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], actual.OptimizerSlots[0]);
    }
}
