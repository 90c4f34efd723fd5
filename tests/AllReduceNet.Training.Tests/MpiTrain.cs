using System.Diagnostics;

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
}
