using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Tests;

/// <summary>
/// Output fit for batch systems: with stdout redirected (a log file, a pipe, an MPI launcher's forwarding), Train.dll
/// writes plain lines: no escape codes (Open MPI hands ranks a pseudo-terminal, where .NET used to write ESC[?1h ESC=)
/// and no bar redrawn with carriage returns.
/// </summary>
public class BatchOutputTests
{
    private static readonly string[] Training = ["--strategy", "ddp", "--synthetic", "600", "--layers", "12,16,3", "--batch-size", "12", "--epochs", "1", "--no-checkpoint"];

    private static void AssertPlain(string text, string where)
    {
        Assert.Contains("epoch   1/1", text);
        Assert.False(text.Contains('\u001b'), $"{where}: the output has an ESC character:\n{text}");
        Assert.False(text.Contains('\r'), $"{where}: the output has a carriage return (a redrawn progress bar):\n{text}");
    }

    [Fact]
    public void In_process_output_to_a_pipe_is_plain_text()
    {
        var (output, error) = TrainProcess.Run("dotnet", [TrainProcess.TrainDll, "--ranks", "2", .. Training]);
        AssertPlain(output + error, "in-process");
    }

    [NeedsProgramFact("mpiexec.mpich", "mpich")]
    public void Output_under_mpich_mpiexec_is_plain_text() => RunUnder("mpiexec.mpich");

    [NeedsProgramFact("mpiexec.openmpi", "openmpi-bin")]
    public void Output_under_open_mpi_mpiexec_is_plain_text() => RunUnder("mpiexec.openmpi");

    private static void RunUnder(string launcher)
    {
        string path = TrainProcess.Find(launcher)!;
        var (output, error) = TrainProcess.Run(path, [.. TrainProcess.MpiArguments(path, 2, []), .. Training]);
        AssertPlain(output + error, launcher);
        Assert.Contains("on 2 ranks (mpi", output);
    }

    [Fact]
    public void Progress_without_a_terminal_is_a_plain_line_per_interval()
    {
        var output = new StringWriter();
        var report = new ReportWriter(output, null, quiet: false, plainProgressInterval: TimeSpan.Zero);
        for (int step = 0; step < 4; step++) report.Progress(1, step, 4);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The last step is followed by the epoch's own line, so it gets none.
        Assert.Equal(["epoch 1: step 1/4 (25%)", "epoch 1: step 2/4 (50%)", "epoch 1: step 3/4 (75%)"], lines);
    }
}
