using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// Output fit for batch systems. Under an MPI launcher or a batch scheduler the output ends up in a log file even when
/// the process's stdout is a terminal: Open MPI's mpiexec hands its ranks a pseudo-terminal, so .NET took it for one,
/// wrote the terminal's keypad-mode escape codes (ESC[?1h ESC=) and Train.dll redrew a progress bar with carriage
/// returns into the job's log. There, progress is written as plain lines instead.
/// </summary>
internal static class BatchOutput
{
    /// <summary>Scheduler variables that say a batch job runs this process (Slurm, PBS/Torque, LSF, SGE).</summary>
    private static readonly string[] SchedulerVariables = ["SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID"];

    /// <summary>True under mpiexec/srun or a batch scheduler: no terminal control, whatever stdout looks like.</summary>
    public static bool IsBatch { get; } = MpiRuntime.IsLaunchedByMpiexec ||
        SchedulerVariables.Any(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)));

    /// <summary>
    /// Call first in Main, before anything touches the console: in a batch job, tells .NET's console that the terminal
    /// is "dumb", so it writes no terminal-mode escape codes (it reads TERM when the console is first used).
    /// </summary>
    public static void Prepare()
    {
        if (IsBatch) Environment.SetEnvironmentVariable("TERM", "dumb");
    }

    /// <summary>The prefix of lines a rank prints in a job of several processes ("[rank 1] "); empty otherwise.</summary>
    public static string RankPrefix(int rank, int processes) => processes > 1 ? $"[rank {rank}] " : "";
}
