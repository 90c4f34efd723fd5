using System.Diagnostics;
using System.Text.Json;

namespace AllReduceNet.Training.Tests;

/// <summary>
/// scripts/slurm/train.sbatch submitted for real: a one-node Slurm (munged, slurmctld, slurmd with 4 slots) is brought
/// up in a temporary directory by scripts/slurm/local-cluster.sh, the script runs Train.dll and the AllReduce sweep
/// as 2 ranks with <c>srun --mpi=pmi2</c> under <c>sbatch --wait</c>, and Slurm is shut down afterwards, whatever happened.
/// Skipped, with the reason, where Slurm is not installed, the test is not root, or the daemons do not start.
/// </summary>
public class SlurmBatchTests
{
    [SkippableFact]
    public void Sbatch_script_trains_and_sweeps_on_a_one_node_slurm()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root: slurmd starts the job's tasks as the job's user.");
        foreach (string program in new[] { "munged", "slurmctld", "slurmd", "sbatch" })
            Skip.If(TrainProcess.Find(program) is null, $"{program} is not installed (apt-get install slurm-wlm munge).");
        string perf = RepositoryRoot.File("benchmarks", "AllReducePerf", "bin", "Release", "net10.0", "AllReducePerf.dll");
        Assert.True(File.Exists(perf), $"{perf} is missing: dotnet build benchmarks/AllReducePerf -c Release");

        using var dir = new TempDirectory();
        string cluster = dir.File("slurm"), jobs = dir.File("jobs");
        Directory.CreateDirectory(jobs);
        string clusterScript = RepositoryRoot.File("scripts", "slurm", "local-cluster.sh");
        try
        {
            var up = Shell(["bash", clusterScript, "up", cluster, "4"], TimeSpan.FromSeconds(90));
            Skip.If(up.Code == 3, $"a one-node Slurm could not start here: {up.Error.Trim()}");
            Assert.True(up.Code == 0, $"local-cluster.sh up exited {up.Code}: {up.Error}");

            var environment = new Dictionary<string, string>
            {
                ["SLURM_CONF"] = Path.Combine(cluster, "slurm.conf"),
                ["ARN_TRAIN_DLL"] = TrainProcess.TrainDll,
                ["ARN_PERF_DLL"] = perf,
                ["ARN_OUT"] = Path.Combine(jobs, "out"),
                ["TRAIN_ARGS"] = "--strategy ddp --synthetic 600 --layers 12,16,3 --batch-size 12 --epochs 2 --no-checkpoint",
                ["SWEEP_ARGS"] = "-b 1K -e 64K -f 8 -n 3 -w 1 --algorithms native,ring",
            };
            var job = Shell(["sbatch", "--wait", "--nodes=1", "--ntasks=2", "--time=5", $"--chdir={jobs}", $"--output={jobs}/job-%j.out",
                RepositoryRoot.File("scripts", "slurm", "train.sbatch")], TimeSpan.FromSeconds(240), environment);
            string log = string.Join("\n", Directory.GetFiles(jobs, "job-*.out").Select(File.ReadAllText));
            Assert.True(job.Code == 0, $"sbatch --wait exited {job.Code}: {job.Output}{job.Error}\njob output:\n{log}");

            Assert.Contains("2 ranks on 1 node(s)", log);
            Assert.Contains("Train: ddp on 2 ranks (mpi (", log);          // srun --mpi=pmi2 made one MPI world of 2
            Assert.Contains("epoch   2/2", log);
            Assert.Contains("exit 0", log);
            Assert.DoesNotContain('\u001b', log);
            var epochs = File.ReadAllLines(Path.Combine(jobs, "out", "train.jsonl"));
            Assert.Equal(2, epochs.Length);
            using (var last = JsonDocument.Parse(epochs[^1])) Assert.Equal(2, last.RootElement.GetProperty("ranks").GetInt32());
            var sweep = File.ReadAllLines(Path.Combine(jobs, "out", "sweep.csv"));
            Assert.True(sweep.Length >= 3, $"the sweep wrote {sweep.Length} lines:\n{string.Join("\n", sweep)}");
            Assert.Contains(sweep, line => line.Contains("native", StringComparison.Ordinal));
        }
        finally
        {
            var down = Shell(["bash", clusterScript, "down", cluster], TimeSpan.FromSeconds(30));
            Assert.True(down.Code == 0, $"local-cluster.sh down exited {down.Code}: {down.Error}");
        }
        // No daemon of this cluster is left: their pid files are gone with them.
        Assert.Empty(Directory.Exists(cluster) ? Directory.GetFiles(cluster, "*.pid") : []);
    }

    private static (int Code, string Output, string Error) Shell(string[] command, TimeSpan timeout, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in command.Skip(1)) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{string.Join(' ', command)} did not finish in {timeout.TotalSeconds:F0} s:\n{stdout.Result}\n{stderr.Result}");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
