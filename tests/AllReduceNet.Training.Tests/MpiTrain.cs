using System.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>Train.dll under the MPI launcher the tests found (mpiexec.mpich first), as a real job of processes.</summary>
internal static class MpiTrain
{
    /// <summary>Runs <c>mpiexec -n RANKS dotnet Train.dll ARGUMENTS</c>, fails the test when it does not exit 0 within
    /// two minutes (killing it), and returns what it printed.</summary>
    public static string Run(int ranks, string arguments)
    {
        string train = Path.Combine(AppContext.BaseDirectory, "Train.dll");
        var start = new ProcessStartInfo(MpiTheoryAttribute.FindLauncher()!, $"-n {ranks} dotnet {train} {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"mpiexec did not finish in 120 s:\n{stdout.Result}\n{stderr.Result}");
        }
        Assert.True(process.ExitCode == 0, $"mpiexec exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }

    /// <summary>
    /// Trains 2 epochs with <paramref name="arguments"/> on <paramref name="ranks"/> in-process ranks and under MPICH,
    /// and asserts that both checkpoints hold bitwise the same parameters and momentum.
    /// </summary>
    public static void AssertEqualsInProcess(int ranks, string arguments)
    {
        using var dir = new TempDirectory();
        string common = $"{arguments} --epochs 2";
        string inProcess = dir.File("in-process.ckpt"), mpi = dir.File("mpi.ckpt");
        Assert.Equal(0, TrainCommand.Run([.. $"{common} --ranks {ranks} --checkpoint {inProcess}".Split(' ')], TextWriter.Null, TextWriter.Null));
        string output = Run(ranks, $"{common} --checkpoint {mpi}");
        Assert.Contains($"on {ranks} ranks (mpi (MPICH", output);
        var expected = CheckpointFile.Read(inProcess);
        var actual = CheckpointFile.Read(mpi);
        Assert.Equal(2, actual.CompletedEpochs);
        Assert.Equal(expected.Parameters, actual.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], actual.OptimizerSlots[0]);
    }
}
