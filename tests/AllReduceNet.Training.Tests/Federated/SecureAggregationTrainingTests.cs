using System.Text.Json;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>Train.dll --secure-aggregation end to end on synthetic data: against the plain run, across rank counts, aborts, resume, refusals.</summary>
public class SecureAggregationTrainingTests
{
    private const string Common = "--synthetic 600 --layers 12,16,3 --device cpu --quiet --clients 20 --local-batch 8 --lr 0.1 --clients-per-round 8 --strategy fedavg";

    private static string[] Args(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static Checkpoint Run(string args, TempDirectory dir, string name)
    {
        string checkpoint = dir.File(name);
        var error = new StringWriter();
        int code = TrainCommand.Run([.. Args($"{Common} {args} --checkpoint {checkpoint}")], TextWriter.Null, error);
        Assert.True(code == 0, $"Train exited with {code}: {error}");
        return CheckpointFile.Read(checkpoint);
    }

    private static List<JsonElement> Records(string path) =>
        File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Theory]
    [InlineData("")]
    [InlineData("--dropout 0.2")]
    [InlineData("--dropout 0.2 --secagg-neighbors 4 --secagg-unmask-dropout 0.1")]
    public void A_secure_run_equals_the_plain_run_within_the_quantization_error(string extra)
    {
        using var dir = new TempDirectory();
        string plainLog = dir.File("plain.jsonl"), secureLog = dir.File("secure.jsonl");
        var plain = Run($"--rounds 4 --ranks 2 {extra.Replace("--secagg-neighbors 4 --secagg-unmask-dropout 0.1", "")} --log-json {plainLog}", dir, "plain.ckpt");
        var secure = Run($"--rounds 4 --ranks 2 --secure-aggregation {extra} --log-json {secureLog}", dir, "secure.ckpt");
        var plainRecords = Records(plainLog);
        var secureRecords = Records(secureLog);
        Assert.All(secureRecords, r => Assert.Equal(JsonValueKind.Null, r.GetProperty("aborted").ValueKind));
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(plainRecords[i].GetProperty("clients_survived").GetInt32(), secureRecords[i].GetProperty("clients_survived").GetInt32());
            Assert.Equal(4, secureRecords[i].GetProperty("clients_survived_by_stage").GetArrayLength());
            Assert.True(secureRecords[i].GetProperty("bytes_sent_per_client").GetDouble() > plainRecords[i].GetProperty("bytes_sent_per_client").GetDouble());
            Assert.Equal(plainRecords[i].GetProperty("test_accuracy").GetDouble(), secureRecords[i].GetProperty("test_accuracy").GetDouble(), 0.02);
        }
        // 8 clients of ~30 samples: clip range 30, 2^23 steps per unit: each mean delta element is off by at most 8 / 2^24 / 240 per round.
        float worst = plain.Parameters.Zip(secure.Parameters, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst < 1e-4f, $"secure and plain models differ by {worst}");
        Assert.NotEqual(plain.Parameters, secure.Parameters);   // quantization did happen
    }

    [Theory]
    [InlineData("--dropout 0.3")]
    [InlineData("--dropout 0.3 --secagg-neighbors 4 --secagg-unmask-dropout 0.2")]
    public void One_four_and_eight_ranks_end_with_bitwise_the_same_model(string extra)
    {
        using var dir = new TempDirectory();
        var one = Run($"--rounds 3 --ranks 1 --secure-aggregation {extra}", dir, "1.ckpt");
        foreach (int ranks in new[] { 4, 8 })
        {
            var other = Run($"--rounds 3 --ranks {ranks} --secure-aggregation {extra}", dir, $"{ranks}.ckpt");
            Assert.Equal(one.Parameters, other.Parameters);
            Assert.Equal(one.OptimizerSteps, other.OptimizerSteps);
        }
    }

    [Fact]
    public void A_round_with_fewer_survivors_than_t_is_aborted_the_model_unchanged_and_training_goes_on()
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        // t = 8 of 8: a round aborts whenever any client drops.
        var final = Run($"--rounds 6 --ranks 3 --secure-aggregation --secagg-threshold 8 --dropout 0.1 --log-json {log} --lr-schedule constant", dir, "a.ckpt");
        var records = Records(log);
        // The first aborted round after round 1 (so that there is a previous accuracy to compare with).
        int aborted = records.FindIndex(1, r => r.GetProperty("aborted").ValueKind == JsonValueKind.String);
        Assert.True(aborted > 0, "no round after the first was aborted; choose another seed for this test");
        Assert.Contains("threshold", records[aborted].GetProperty("aborted").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, records[aborted].GetProperty("clients_survived").GetInt32());
        Assert.Equal(records[aborted - 1].GetProperty("test_accuracy").GetDouble(), records[aborted].GetProperty("test_accuracy").GetDouble());
        Assert.Contains(records.Skip(aborted + 1), r => r.GetProperty("aborted").ValueKind == JsonValueKind.Null);
        Assert.Equal(records.Count(r => r.GetProperty("aborted").ValueKind == JsonValueKind.Null), final.OptimizerSteps);
        Assert.Equal(6, final.CompletedEpochs);
    }

    private sealed class SimulatedKill : Exception
    {
        public SimulatedKill() : base("simulated kill") { }
    }

    [Fact]
    public void Resume_after_a_kill_is_bitwise_the_uninterrupted_secure_run()
    {
        using var dir = new TempDirectory();
        string[] RunArgs(string checkpoint, string more = "") => Args($"{Common} --secure-aggregation --dropout 0.2 --rounds 4 --ranks 3 --checkpoint {checkpoint} {more}");
        Assert.Equal(0, TrainCommand.Run(RunArgs(dir.File("full.ckpt")), TextWriter.Null, TextWriter.Null));
        string killed = dir.File("killed.ckpt");
        Assert.ThrowsAny<Exception>(() => TrainCommand.Run(RunArgs(killed), TextWriter.Null, TextWriter.Null,
            (round, client) => { if (round == 3) throw new SimulatedKill(); }));
        Assert.Equal(2, CheckpointFile.Read(killed).CompletedEpochs);
        var error = new StringWriter();
        Assert.True(TrainCommand.Run(RunArgs(killed, "--resume"), TextWriter.Null, error) == 0, error.ToString());
        var expected = CheckpointFile.Read(dir.File("full.ckpt"));
        var resumed = CheckpointFile.Read(killed);
        Assert.Equal(4, resumed.CompletedEpochs);
        Assert.Equal(expected.Parameters, resumed.Parameters);
        Assert.Equal(expected.OptimizerSteps, resumed.OptimizerSteps);
    }

    [Theory]
    [InlineData("--strategy ddp --secure-aggregation", "--secure-aggregation applies to the federated strategies only")]
    [InlineData("--strategy fedavg --secagg-neighbors 4", "--secagg-neighbors applies with --secure-aggregation only")]
    [InlineData("--strategy fedavg --secagg-bits 10", "--secagg-bits applies with --secure-aggregation only")]
    [InlineData("--strategy fedavg --secure-aggregation --secagg-neighbors 1", "--secagg-neighbors must be 0 (full SecAgg) or at least 2")]
    [InlineData("--strategy fedavg --secure-aggregation --clients-per-round 10 --secagg-threshold 5", "--secagg-threshold 5 is not more than half of the 10 share holders")]
    [InlineData("--strategy fedavg --secure-aggregation --clients-per-round 10 --secagg-threshold 11", "--secagg-threshold 11 exceeds the 10 clients")]
    [InlineData("--strategy fedavg --secure-aggregation --clients-per-round 30 --secagg-neighbors 8 --secagg-threshold 4", "not more than half of the 9 share holders")]
    [InlineData("--strategy fedavg --secure-aggregation --secagg-clip 0", "--secagg-clip must be finite and positive")]
    [InlineData("--strategy fedavg --secure-aggregation --secagg-bits 31", "--secagg-bits must be in 0..30")]
    [InlineData("--strategy fedavg --secure-aggregation --secagg-unmask-dropout 1", "--secagg-unmask-dropout must be in [0, 1)")]
    [InlineData("--strategy fedavg --secure-aggregation --clients-per-round 1", "needs at least 2 clients per round")]
    [InlineData("--strategy fedavg --secure-aggregation --synthetic 600 --layers 12,16,3 --clients 20 --clients-per-round 10 --secagg-bits 30",
        "10 clients per round x (clip range 30 x 2^30 + 1/2)")]
    public void Bad_secure_aggregation_arguments_give_a_clear_error_and_exit_code_2(string args, string expected)
        => RefusedArguments.AssertRefused(args, expected);
}
