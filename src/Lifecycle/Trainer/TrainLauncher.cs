using System.Diagnostics;

namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>
/// How a retrain job runs Train.dll: <c>inproc</c> (one <c>dotnet Train.dll</c> process whose ranks are threads, the
/// default), a launcher command put in front of it (<c>--launcher "mpiexec.mpich -n 4"</c>: ranks are MPI processes),
/// or <c>sbatch</c> (a batch job through scripts/slurm/train.sbatch, waited for with <c>sbatch --wait</c>; the script
/// reads Train.dll's options from TRAIN_ARGS).
/// </summary>
internal sealed record TrainLauncher(TrainLauncher.LauncherKind Kind, string[] Prefix, string SbatchScript, string[] SbatchArgs)
{
    public enum LauncherKind { InProcess, Command, Sbatch }

    public static TrainLauncher Parse(string text, string sbatchScript, string[] sbatchArgs)
    {
        string[] words = text.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) throw new LifecycleConfigurationException("--launcher is empty; use inproc, a command such as \"mpiexec.mpich -n 4\", or sbatch.");
        return words[0] switch
        {
            "inproc" when words.Length == 1 => new TrainLauncher(LauncherKind.InProcess, [], sbatchScript, sbatchArgs),
            "sbatch" when words.Length == 1 => new TrainLauncher(LauncherKind.Sbatch, [], sbatchScript, sbatchArgs),
            "inproc" or "sbatch" => throw new LifecycleConfigurationException($"--launcher '{text}': {words[0]} takes no arguments (sbatch options go in --sbatch-args)."),
            _ => new TrainLauncher(LauncherKind.Command, words, sbatchScript, sbatchArgs),
        };
    }

    /// <summary>The process that trains with <paramref name="trainArgs"/>.</summary>
    /// <param name="trainDll">Train.dll.</param>
    /// <param name="trainArgs">Its options.</param>
    /// <param name="jobDirectory">Where the batch job writes its outputs.</param>
    public ProcessStartInfo StartInfo(string trainDll, IReadOnlyList<string> trainArgs, string jobDirectory)
    {
        ProcessStartInfo start;
        switch (Kind)
        {
            case LauncherKind.Sbatch:
                start = new ProcessStartInfo("sbatch");
                foreach (string a in (string[])["--wait", "--parsable", .. SbatchArgs, SbatchScript]) start.ArgumentList.Add(a);
                start.Environment["ARN_STEPS"] = "train";
                start.Environment["ARN_TRAIN_DLL"] = trainDll;
                start.Environment["ARN_OUT"] = Path.Combine(jobDirectory, "slurm");
                start.Environment["TRAIN_ARGS"] = string.Join(' ', trainArgs);
                break;
            case LauncherKind.Command:
                start = new ProcessStartInfo(Prefix[0]);
                foreach (string a in (string[])[.. Prefix[1..], "dotnet", trainDll, .. trainArgs]) start.ArgumentList.Add(a);
                break;
            default:
                start = new ProcessStartInfo("dotnet");
                foreach (string a in (string[])[trainDll, .. trainArgs]) start.ArgumentList.Add(a);
                break;
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        return start;
    }

    /// <summary>Whether Train.dll's own --log-json may be added (the batch script adds its own).</summary>
    public bool AddsLogJson => Kind == LauncherKind.Sbatch;

    public override string ToString() => Kind switch
    {
        LauncherKind.InProcess => "inproc",
        LauncherKind.Sbatch => $"sbatch {SbatchScript}",
        _ => string.Join(' ', Prefix),
    };
}
