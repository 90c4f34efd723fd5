using System.Text.Json;
using AllReduceNet.Collectives.Diagnostics;

namespace AllReduceNet.Training.Tests;

/// <summary>
/// ALLREDUCENET_TIMELINE=FILE: one Chrome trace file per job, with complete events per rank for the collectives, their
/// phases and Train.dll's forward, backward, bucket AllReduce and optimizer step.
/// </summary>
public class TimelineTests
{
    // A model big enough that the ring moves several segments (so waits and reductions show up), small enough to be quick.
    private static readonly string[] Training = ["--strategy", "ddp", "--synthetic", "240", "--layers", "12,256,64,3", "--batch-size", "24",
        "--epochs", "1", "--no-checkpoint", "--algorithm", "ring"];

    private static readonly string[] TrainingNames = ["forward", "backward", "bucket AllReduce", "optimizer step"];

    [Fact]
    public void In_process_job_writes_one_trace_with_every_rank()
    {
        using var dir = new TempDirectory();
        string file = dir.File("trace.json");
        TrainProcess.Run("dotnet", [TrainProcess.TrainDll, "--ranks", "3", .. Training], new Dictionary<string, string> { [Timeline.Variable] = file });
        AssertTrace(file, ranks: 3, ["AllReduce(ring)", "Barrier", "wait for peers", "reduce", .. TrainingNames]);
    }

    [NeedsProgramFact("mpiexec.mpich", "mpich")]
    public void Mpi_job_merges_the_ranks_parts_into_one_trace()
    {
        using var dir = new TempDirectory();
        string file = dir.File("trace.json");
        string launcher = TrainProcess.Find("mpiexec.mpich")!;
        TrainProcess.Run(launcher, [.. TrainProcess.MpiArguments(launcher, 2, []), .. Training], new Dictionary<string, string> { [Timeline.Variable] = file });
        AssertTrace(file, ranks: 2, ["AllReduce(ring)", "Barrier", "wait for peers", .. TrainingNames]);
        Assert.Equal(["trace.json"], Directory.GetFiles(dir.Path).Select(Path.GetFileName)); // the parts were merged and removed
    }

    [Fact]
    public void Timeline_is_off_unless_the_variable_is_set()
    {
        Assert.Equal(!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Timeline.Variable)), Timeline.IsEnabled);
    }

    private static void AssertTrace(string file, int ranks, string[] names)
    {
        Assert.True(File.Exists(file), $"{file} was not written");
        using var trace = JsonDocument.Parse(File.ReadAllBytes(file));
        var events = trace.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        var complete = events.Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        foreach (var e in complete)
        {
            Assert.True(e.GetProperty("ts").GetDouble() >= 0, $"negative ts in {e}");
            Assert.True(e.GetProperty("dur").GetDouble() >= 0, $"negative dur in {e}");
            Assert.True(e.GetProperty("tid").GetInt32() > 0);
        }
        Assert.Equal(Enumerable.Range(0, ranks), complete.Select(e => e.GetProperty("pid").GetInt32()).Distinct().Order());
        for (int rank = 0; rank < ranks; rank++)
        {
            var mine = complete.Where(e => e.GetProperty("pid").GetInt32() == rank).Select(e => e.GetProperty("name").GetString()).ToHashSet();
            foreach (string name in names) Assert.True(mine.Contains(name), $"rank {rank} has no \"{name}\" event; it has: {string.Join(", ", mine)}");
            Assert.Contains(events, e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("pid").GetInt32() == rank
                && e.GetProperty("args").TryGetProperty("name", out var n) && n.GetString() == $"rank {rank}");
        }
        // Every rank ran the same number of steps: as many forward spans each.
        var forwards = complete.Where(e => e.GetProperty("name").GetString() == "forward").GroupBy(e => e.GetProperty("pid").GetInt32()).Select(g => g.Count()).Distinct();
        Assert.Single(forwards);
    }
}
