using System.Diagnostics;
using System.Text;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>Train.dll (copied beside the tests by the project references) as a child process, with a timeout.</summary>
internal static class TrainProcess
{
    public static string TrainDll => Path.Combine(AppContext.BaseDirectory, "Train.dll");

    /// <summary>Runs <c>dotnet Train.dll ARGS</c>; returns its output.</summary>
    /// <exception cref="InvalidOperationException">It failed or ran past <paramref name="timeout"/>; the message holds its output.</exception>
    public static async Task<string> RunAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])[TrainDll, .. args]) start.ArgumentList.Add(a);
        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"Train.dll ran longer than {timeout}: {output}");
        }
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"Train.dll exited with {process.ExitCode}: {output}");
        lock (output) return output.ToString();
    }
}
