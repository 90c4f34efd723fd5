using System.Text.Json;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>--log-json's "phase_seconds" and the epoch line's phase summary (where an epoch's time goes).</summary>
public class PhaseTimingsTests
{
    private static readonly string[] Phases = ["data_loading", "forward", "backward", "allreduce_wait", "optimizer", "other"];

    [Theory]
    [InlineData("ddp", 1, false)]
    [InlineData("ddp", 2, false)]
    [InlineData("ddp", 2, true)]
    [InlineData("zero", 2, false)]
    public void Each_epoch_reports_its_phases_and_they_add_up_to_the_epoch(string strategy, int ranks, bool noOverlap)
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        var output = new StringWriter();
        string[] args = ["--strategy", strategy, "--ranks", ranks.ToString(), "--synthetic", "480", "--layers", "12,32,16,3", "--batch-size", "24",
            "--epochs", "2", "--no-checkpoint", "--log-json", log, .. (noOverlap ? new[] { "--no-overlap" } : [])];
        Assert.Equal(0, TrainCommand.Run(args, output, TextWriter.Null));
        Assert.Matches(@"\[data \d+\.\d\d fwd \d+\.\d\d bwd \d+\.\d\d wait \d+\.\d\d opt \d+\.\d\d s\]", output.ToString());
        var lines = File.ReadAllLines(log);
        Assert.Equal(2, lines.Length);
        foreach (string line in lines)
        {
            using var record = JsonDocument.Parse(line);
            var root = record.RootElement;
            var phases = root.GetProperty("phase_seconds");
            Assert.Equal(Phases, phases.EnumerateObject().Select(p => p.Name).ToArray());
            foreach (string name in Phases) Assert.True(phases.GetProperty(name).GetDouble() >= 0, $"{name} is negative");
            // Every step runs a forward and a backward pass and an optimizer step: none of them can take no time at all.
            foreach (string name in new[] { "forward", "backward", "optimizer" })
                Assert.True(phases.GetProperty(name).GetDouble() > 0, $"{name} took no time");
            double measured = Phases.SkipLast(1).Sum(name => phases.GetProperty(name).GetDouble());
            double epoch = root.GetProperty("epoch_seconds").GetDouble();
            Assert.Equal(Math.Max(0, epoch - measured), phases.GetProperty("other").GetDouble(), 6);
            // One rank measures its phases one after the other inside the epoch it times: they cannot add up to more.
            // (With several, the phases are a mean over ranks and the epoch is rank 0's: a rank that leaves the
            // epoch's opening barrier first starts its first step before rank 0 starts the clock.)
            if (ranks == 1) Assert.InRange(measured, 0, epoch * 1.0001);
        }
    }

    [Fact]
    public void A_phase_measured_around_another_leaves_the_inner_phase_out()
    {
        var timings = new Training.PhaseTimings();
        long outerStart = System.Diagnostics.Stopwatch.GetTimestamp();
        long innerAtStart = timings.Ticks(Training.TrainingPhase.AllReduceWait);
        Thread.Sleep(30);
        using (timings.Measure(Training.TrainingPhase.AllReduceWait)) Thread.Sleep(200);
        timings.AddExcluding(Training.TrainingPhase.Backward, outerStart, Training.TrainingPhase.AllReduceWait, innerAtStart);
        double outer = System.Diagnostics.Stopwatch.GetElapsedTime(outerStart).TotalSeconds;
        double inner = timings.Seconds(Training.TrainingPhase.AllReduceWait), backward = timings.Seconds(Training.TrainingPhase.Backward);
        Assert.InRange(inner, 0.2, outer);
        Assert.InRange(backward, 0.029, outer - inner);
        timings.Reset();
        Assert.Equal(0, timings.Seconds(Training.TrainingPhase.Backward));
    }
}
