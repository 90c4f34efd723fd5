using System.Diagnostics;
using System.Text.RegularExpressions;
using AllReduceNet.Collectives.Tests.Mpi;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using Xunit.Abstractions;

namespace AllReduceNet.Training.Tests;

/// <summary>
/// Train.dll as a job across the two namespace hosts of scripts/cluster (Open MPI; MPICH for one case; TCP between the
/// hosts): the model it trains is bitwise the in-process run's with the same ranks and seed; and a job whose link is
/// cut mid-training ends on every rank within the timeout (+10 s) with the peer named, then resumes from its checkpoint
/// once the link is back and ends with the model an uninterrupted run gives. Skipped, with the reason, where the
/// namespaces cannot be made (not root) or Open MPI is missing.
/// </summary>
[Collection(LinkChangingCollection.Name)]
public sealed class TrainAcrossHostsTests(ITestOutputHelper log) : IClassFixture<NamespaceCluster>, IDisposable
{
    private const int TimeoutSeconds = 10;
    private const string Common = "--strategy ddp --synthetic 240 --layers 12,10,8,3 --batch-size 24 --seed 3 --device cpu";
    private readonly TempDirectory _dir = new();

    private static string TrainDll => Path.Combine(AppContext.BaseDirectory, "Train.dll");

    /// <summary>2 hosts x 1 rank, the ring: the same operations in the same order as 2 in-process ranks, so the same bits.</summary>
    [ClusterFact(MpiJob.OpenMpi)]
    public void Two_hosts_of_one_rank_train_the_model_of_two_in_process_ranks_bitwise()
    {
        string arguments = $"{Common} --algorithm ring --epochs 1";
        var (inProcess, inProcessOutput) = TrainInProcess(2, arguments);
        var (acrossHosts, output) = TrainAcrossHosts(1, arguments);

        Assert.Contains("on 2 ranks (mpi (Open MPI", output);
        AssertSameModel(inProcess, acrossHosts);
        Assert.Equal(EpochFigures(inProcessOutput), EpochFigures(output));
    }

    /// <summary>
    /// 2 hosts x 2 ranks with --algorithm hierarchical (reduce inside each host through shared memory, ring across the
    /// hosts) and --reproducible: bitwise the model of 4 in-process ranks, although the two sum in different orders.
    /// </summary>
    [ClusterFact(MpiJob.OpenMpi)]
    public void Two_hosts_of_two_ranks_with_the_hierarchical_allreduce_train_the_model_of_four_in_process_ranks_bitwise()
    {
        var (inProcess, inProcessOutput) = TrainInProcess(4, $"{Common} --reproducible --reproducible-sum exact --epochs 1");
        var (acrossHosts, output) = TrainAcrossHosts(2, $"{Common} --reproducible --reproducible-sum exact --algorithm hierarchical --epochs 1");

        Assert.Contains("on 4 ranks (mpi (Open MPI", output);
        Assert.Contains("AllReduce Hierarchical", output);
        AssertSameModel(inProcess, acrossHosts);
        Assert.Equal(EpochFigures(inProcessOutput), EpochFigures(output));
    }

    /// <summary>
    /// The same 2 x 2 job under MPICH (hydra through the shim, UCX's TCP between the hosts): bitwise the in-process
    /// model too, and it finalizes (the MPICH hang in MPI_Finalize across hosts needs more traffic; docs/cluster.md).
    /// </summary>
    [ClusterFact(MpiJob.Mpich)]
    public void Two_hosts_of_two_ranks_under_mpich_train_the_model_of_four_in_process_ranks_bitwise()
    {
        var (inProcess, inProcessOutput) = TrainInProcess(4, $"{Common} --reproducible --reproducible-sum exact --epochs 1");
        var (acrossHosts, output) = TrainAcrossHosts(2, $"{Common} --reproducible --reproducible-sum exact --algorithm hierarchical --epochs 1", mpich: true);

        Assert.Contains("on 4 ranks (mpi (MPICH", output);
        AssertSameModel(inProcess, acrossHosts);
        Assert.Equal(EpochFigures(inProcessOutput), EpochFigures(output));
    }

    /// <summary>
    /// Host 2's link cut while a checkpointing job trains: each rank's own deadline ends its wait, and each names the
    /// operation and the rank it waited for; the ranks are gone within the timeout + 10 s. Once the link is back,
    /// --resume finishes the job from the last checkpoint with the model of an uninterrupted run (constant learning
    /// rate, so the schedule does not depend on the number of epochs asked for).
    /// </summary>
    [ClusterFact(MpiJob.OpenMpi)]
    public void A_link_cut_ends_every_rank_naming_the_peer_and_resume_finishes_the_job()
    {
        string arguments = $"{Common} --algorithm ring --lr-schedule constant";
        string checkpoint = _dir.File("cut.ckpt");
        var (launcher, launcherArgs, env) = NamespaceCluster.OpenMpi(1, _dir.Path);
        env["ALLREDUCENET_TIMEOUT_SECONDS"] = TimeoutSeconds.ToString();
        // Each rank's error to a file of its own: host 2's rank cannot reach mpiexec once its link is cut.
        string program = $"-x ALLREDUCENET_TIMEOUT_SECONDS sh -c \"exec dotnet {TrainDll} {arguments} --quiet --epochs 100000 --checkpoint {checkpoint} 2>{_dir.Path}/rank-$OMPI_COMM_WORLD_RANK.err\"";
        using var job = new Process { StartInfo = new ProcessStartInfo(MpiJob.Find(launcher)!, $"{launcherArgs} {program}") { RedirectStandardOutput = true, RedirectStandardError = true } };
        foreach (var (key, value) in env) job.StartInfo.Environment[key] = value;
        job.Start();
        var jobOutput = Task.WhenAll(job.StandardOutput.ReadToEndAsync(), job.StandardError.ReadToEndAsync());
        try
        {
            var started = Stopwatch.StartNew();
            while (CompletedEpochs(checkpoint) < 2 && started.Elapsed < TimeSpan.FromSeconds(90) && !job.HasExited) Thread.Sleep(100);
            Assert.True(CompletedEpochs(checkpoint) >= 2, $"the job wrote no checkpoint of 2 epochs in {started.Elapsed.TotalSeconds:F0} s (its output follows)");

            var cut = NamespaceCluster.Shell("ip", $"link set {NamespaceCluster.Host2Link} down");
            Assert.True(cut.ExitCode == 0, cut.Output);
            var sinceCut = Stopwatch.StartNew();
            var bound = TimeSpan.FromSeconds(TimeoutSeconds + 10);
            while ((RankErrors().Count(e => e.Contains("training failed")) < 2 || RankProcesses(checkpoint) > 0) && sinceCut.Elapsed < bound) Thread.Sleep(100);
            var errors = RankErrors();
            log.WriteLine($"{sinceCut.Elapsed.TotalSeconds:F1} s after the cut, {RankProcesses(checkpoint)} rank processes left:\n{string.Join("\n", errors)}");
            Assert.Equal(2, errors.Length);
            for (int rank = 0; rank < 2; rank++)
            {
                // Mostly a bucket's AllReduce ("AllReduce of 245 x float"); at the epoch's end the trainer's AllReduce of
                // its sums ("AllReduce(recursive doubling) of 9 x double") or the checkpoint's Barrier.
                Assert.Matches($"rank {rank} of 2: training failed: .*CommunicationTimeoutException: rank {rank}: (AllReduce|Barrier|Broadcast)[ (].*timed out after 00:00:{TimeoutSeconds}", errors[rank]);
                Assert.Contains($"rank {1 - rank}", Regex.Match(errors[rank], "timed out after.*").Value);
            }
            Assert.True(RankProcesses(checkpoint) == 0, $"rank processes still running {sinceCut.Elapsed.TotalSeconds:F1} s after the cut");
        }
        finally
        {
            log.WriteLine(Finish(job, jobOutput));
            NamespaceCluster.RestoreLink();
        }

        int done = CompletedEpochs(checkpoint);
        var (resumed, output) = TrainAcrossHosts(1, $"{arguments} --epochs {done + 1} --resume", checkpoint);
        Assert.Contains($"resuming after epoch {done}", output);
        Assert.Equal(done + 1, resumed.CompletedEpochs);
        var (uninterrupted, _) = TrainInProcess(2, $"{arguments} --epochs {done + 1}");
        AssertSameModel(uninterrupted, resumed);
    }

    private (Checkpoint Model, string Output) TrainInProcess(int ranks, string arguments)
    {
        string checkpoint = _dir.File($"in-process-{Guid.NewGuid():N}.ckpt");
        var output = new StringWriter();
        var error = new StringWriter();
        int code = TrainCommand.Run([.. $"{arguments} --ranks {ranks} --checkpoint {checkpoint}".Split(' ')], output, error);
        Assert.True(code == 0, $"the in-process run exited {code}: {error}");
        return (CheckpointFile.Read(checkpoint), output.ToString());
    }

    private (Checkpoint Model, string Output) TrainAcrossHosts(int ranksPerHost, string arguments, string? checkpoint = null, bool mpich = false)
    {
        checkpoint ??= _dir.File($"hosts-{Guid.NewGuid():N}.ckpt");
        var (launcher, launcherArgs, env) = mpich ? NamespaceCluster.Mpich(ranksPerHost, _dir.Path) : NamespaceCluster.OpenMpi(ranksPerHost, _dir.Path);
        var result = MpiJob.LaunchProgram(launcher, launcherArgs, $"dotnet {TrainDll} {arguments} --checkpoint {checkpoint}", TimeSpan.FromSeconds(150), env);
        log.WriteLine(result.ToString());
        Assert.False(result.TimedOut, result.ToString());
        Assert.True(result.ExitCode == 0, result.ToString());
        return (CheckpointFile.Read(checkpoint), result.Output);
    }

    private static void AssertSameModel(Checkpoint expected, Checkpoint actual)
    {
        Assert.Equal(expected.CompletedEpochs, actual.CompletedEpochs);
        Assert.Equal(expected.OptimizerSteps, actual.OptimizerSteps);
        Assert.Equal(expected.Parameters, actual.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], actual.OptimizerSlots[0]);
    }

    /// <summary>Each epoch's loss and accuracies as printed (the timings left out).</summary>
    private static string[] EpochFigures(string output) =>
        Regex.Matches(output, @"epoch +\d+/\d+ +loss \S+ +train acc \S+ +test acc \S+").Select(m => m.Value).ToArray() is { Length: > 0 } figures
            ? figures
            : throw new Xunit.Sdk.XunitException($"no epoch line in:\n{output}");

    private static int CompletedEpochs(string checkpoint)
    {
        try { return File.Exists(checkpoint) ? CheckpointFile.Read(checkpoint).CompletedEpochs : 0; }
        catch (IOException) { return 0; }      // being replaced at this moment
        catch (CheckpointException) { return 0; }
    }

    private string[] RankErrors() => Enumerable.Range(0, 2).Select(r => _dir.File($"rank-{r}.err"))
        .Where(File.Exists).Select(File.ReadAllText).ToArray();

    /// <summary>This test's rank processes (dotnet with the test's checkpoint on its command line).</summary>
    private static int RankProcesses(string checkpoint) => Directory.GetDirectories("/proc").Count(d =>
    {
        try { return File.ReadAllText(Path.Combine(d, "comm")).Trim() == "dotnet" && File.ReadAllText(Path.Combine(d, "cmdline")).Contains(checkpoint); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    });

    /// <summary>Ends mpiexec (it waits for host 2's daemon, which it can no longer reach) and returns what it printed.</summary>
    private static string Finish(Process job, Task<string[]> output)
    {
        if (!job.HasExited) job.Kill(entireProcessTree: true);
        job.WaitForExit(TimeSpan.FromSeconds(10));
        return output.Wait(TimeSpan.FromSeconds(10)) ? $"mpiexec: {string.Join("\n", output.Result)}" : "mpiexec: (its output did not close)";
    }

    public void Dispose() => _dir.Dispose();
}
