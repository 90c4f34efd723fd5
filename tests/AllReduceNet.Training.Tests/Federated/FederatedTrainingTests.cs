using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>Train.dll --strategy fedavg|fedprox|fedavgm end to end on synthetic data.</summary>
public class FederatedTrainingTests
{
    private const string Population = "--synthetic 600 --layers 12,16,3 --device cpu --quiet --clients 20 --local-batch 8 --lr 0.1";
    private const string Common = Population + " --clients-per-round 6";

    private static string[] Args(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static Checkpoint Run(string args, TempDirectory dir, string name, StringWriter? output = null, string common = Common)
    {
        string checkpoint = dir.File(name);
        var error = new StringWriter();
        int code = TrainCommand.Run([.. Args($"{common} {args} --checkpoint {checkpoint}")], output ?? TextWriter.Null, error);
        Assert.True(code == 0, $"Train exited with {code}: {error}");
        return CheckpointFile.Read(checkpoint);
    }

    private static List<JsonElement> Records(string path) =>
        File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Theory]
    [InlineData("--strategy fedavg --partition dirichlet:0.5")]
    [InlineData("--strategy fedprox --mu 0.1 --partition shards:2 --momentum 0.5")]
    [InlineData("--strategy fedavgm --server-momentum 0.5 --dropout 0.3")]
    public void One_four_and_eight_ranks_end_with_bitwise_the_same_model(string strategy)
    {
        using var dir = new TempDirectory();
        var one = Run($"{strategy} --rounds 3 --ranks 1", dir, "1.ckpt");
        Assert.True(Harness.Movement(Harness.Settings(StrategyKind.Ddp, 1) with { Layers = [12, 16, 3], Seed = 1 }, one.Parameters) > 1e-2f, "nothing trained");
        foreach (int ranks in new[] { 4, 8 })
        {
            var other = Run($"{strategy} --rounds 3 --ranks {ranks}", dir, $"{ranks}.ckpt");
            Assert.Equal(one.Parameters, other.Parameters);
            Assert.Equal(one.OptimizerSlots[0], other.OptimizerSlots[0]);
            Assert.Equal(3, other.CompletedEpochs);
        }
    }

    [Fact]
    public void Fedavg_learns_and_logs_every_round()
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        var output = new StringWriter();
        Run($"--strategy fedavg --rounds 6 --ranks 3 --partition dirichlet:1 --log-json {log}", dir, "a.ckpt", output);
        var records = Records(log);
        Assert.Equal(6, records.Count);
        Assert.Equal(Enumerable.Range(1, 6), records.Select(r => r.GetProperty("round").GetInt32()));
        Assert.All(records, r =>
        {
            Assert.Equal(6, r.GetProperty("clients_sampled").GetInt32());
            Assert.Equal(6, r.GetProperty("clients_survived").GetInt32());
            Assert.Equal((12 * 16 + 16 + 16 * 3 + 3 + 1) * 4, r.GetProperty("bytes_sent_per_client").GetDouble());
            Assert.True(r.GetProperty("round_seconds").GetDouble() > 0);
        });
        double last = records[^1].GetProperty("test_accuracy").GetDouble();
        Assert.True(last >= 0.85, $"fedavg reached only {last:P1} on the synthetic clusters");
        Assert.True(records[^1].GetProperty("loss").GetDouble() < records[0].GetProperty("loss").GetDouble());
    }

    [Fact]
    public void Dropouts_are_averaged_out_and_a_round_without_survivors_leaves_the_model_unchanged()
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        var output = new StringWriter();
        var final = Run($"--strategy fedavg --rounds 12 --ranks 2 --clients-per-round 2 --dropout 0.6 --log-json {log} --lr-schedule constant", dir, "d.ckpt", output, Population);
        var records = Records(log);
        Assert.Contains(records, r => r.GetProperty("clients_survived").GetInt32() == 1);
        int aborted = records.FindIndex(r => r.GetProperty("aborted").ValueKind == JsonValueKind.String);
        Assert.True(aborted > 0, "no round lost all its clients; choose another seed for this test");
        Assert.Contains("none of the 2 sampled clients reported", records[aborted].GetProperty("aborted").GetString());
        Assert.Equal(records[aborted - 1].GetProperty("test_accuracy").GetDouble(), records[aborted].GetProperty("test_accuracy").GetDouble());
        // The server took one step per round that had survivors.
        Assert.Equal(records.Count(r => r.GetProperty("aborted").ValueKind == JsonValueKind.Null), final.OptimizerSteps);
    }

    private sealed class SimulatedKill : Exception
    {
        public SimulatedKill() : base("simulated kill") { }
    }

    [Theory]
    [InlineData("--strategy fedavgm --dropout 0.2")]
    [InlineData("--strategy fedprox --partition shards:2")]
    public void Resume_after_a_kill_in_a_round_is_bitwise_the_uninterrupted_run(string strategy)
    {
        using var dir = new TempDirectory();
        string[] RunArgs(string checkpoint, string more = "") => Args($"{Common} {strategy} --rounds 5 --ranks 3 --checkpoint {checkpoint} {more}");
        Assert.Equal(0, TrainCommand.Run(RunArgs(dir.File("full.ckpt")), TextWriter.Null, TextWriter.Null));

        string killed = dir.File("killed.ckpt");
        Assert.ThrowsAny<Exception>(() => TrainCommand.Run(RunArgs(killed), TextWriter.Null, TextWriter.Null,
            (round, client) => { if (round == 4) throw new SimulatedKill(); }));
        Assert.Equal(3, CheckpointFile.Read(killed).CompletedEpochs);

        var error = new StringWriter();
        Assert.Equal(0, TrainCommand.Run(RunArgs(killed, "--resume"), TextWriter.Null, error));
        var expected = CheckpointFile.Read(dir.File("full.ckpt"));
        var resumed = CheckpointFile.Read(killed);
        Assert.Equal(5, resumed.CompletedEpochs);
        Assert.Equal(expected.Parameters, resumed.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], resumed.OptimizerSlots[0]);
        Assert.Equal(expected.OptimizerSteps, resumed.OptimizerSteps);
        if (strategy.Contains("fedavgm")) Assert.Contains(resumed.OptimizerSlots[0], v => v != 0);
    }

    [MpiTheory]
    [InlineData("--strategy fedavgm --partition dirichlet:0.5 --dropout 0.2")]
    [InlineData("--strategy fedavg --dropout 0.3 --secure-aggregation --secagg-neighbors 4 --secagg-unmask-dropout 0.1")]
    public void Mpiexec_4_ranks_equals_8_in_process_ranks(string strategy)
    {
        using var dir = new TempDirectory();
        string common = $"{Common} {strategy} --rounds 3";
        var expected = Run($"{strategy} --rounds 3 --ranks 8", dir, "in-process.ckpt");
        string mpi = dir.File("mpi.ckpt");
        string output = MpiTrain.Run(4, $"{common.Replace("--quiet", "")} --checkpoint {mpi}");
        Assert.Contains("on 4 ranks (mpi (MPICH", output);
        Assert.Contains("round    3/3", output);
        var actual = CheckpointFile.Read(mpi);
        Assert.Equal(expected.Parameters, actual.Parameters);
        Assert.Equal(expected.OptimizerSlots[0], actual.OptimizerSlots[0]);
    }
}
