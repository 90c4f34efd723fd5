using System.Text.Json;
using AllReduceNet.Privacy.Accounting;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Federated.ClientDp;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>Train.dll --client-dp end to end on synthetic data: the epsilon it prints, resume, the ledger and the budget, refusals.</summary>
public class ClientLevelDpTrainingTests
{
    // A constant learning rate: a cosine schedule depends on --rounds, which the resume test changes between its two runs.
    private const string Base = "--synthetic 600 --layers 12,16,3 --device cpu --clients 20 --clients-per-round 8 --local-batch 8 --lr 0.1 --lr-schedule constant --strategy fedavg --ranks 2";
    private const string Common = Base + " --quiet";

    private static string[] Args(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static void Train(string args)
    {
        var error = new StringWriter();
        int code = TrainCommand.Run([.. Args($"{Common} {args}")], TextWriter.Null, error);
        Assert.True(code == 0, $"Train exited with {code}: {error}");
    }

    private static List<JsonElement> Records(string path) =>
        File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Theory]
    [InlineData("--client-dp-noise 1.1")]
    [InlineData("--client-dp-noise 1.1 --client-dp-adaptive --client-dp-count-noise 2 --client-dp-noise-at clients")]
    [InlineData("--client-dp-noise 1.1 --client-dp-noise-at clients --secure-aggregation --secagg-clip 6")]
    public void The_epsilon_of_each_round_equals_an_independent_RDP_computation(string dpArgs)
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        Train($"--rounds 3 --client-dp {dpArgs} --checkpoint {dir.File("a.ckpt")} --log-json {log}");
        var records = Records(log);
        Assert.Equal(3, records.Count);
        for (int round = 1; round <= 3; round++)
        {
            Assert.Equal(JsonValueKind.Null, records[round - 1].GetProperty("aborted").ValueKind);
            var independent = new RdpAccountant();
            independent.Compose(8.0 / 20, 1.1, round);
            Assert.Equal(independent.GetEpsilon(1e-5).Epsilon, records[round - 1].GetProperty("client_dp_epsilon").GetDouble(), 12);
            Assert.Equal(1e-5, records[round - 1].GetProperty("client_dp_delta").GetDouble());
        }
        // The ledger holds the three rounds of this run, and composes to the same epsilon.
        var ledger = PrivacyLedger.Load(dir.File(ClientDpSession.LedgerFileName));
        Assert.Equal(3, ledger.Entries.Count);
        Assert.All(ledger.Entries, e => Assert.Equal(ReleaseSource.FederatedRound, e.Range.Source));
        Assert.Equal(records[2].GetProperty("client_dp_epsilon").GetDouble(), ledger.Spent(ledger.Entries[0].DatasetId, 1e-5).Epsilon, 12);
    }

    [Fact]
    public void A_target_epsilon_is_reached_but_not_exceeded_after_the_planned_rounds()
    {
        using var dir = new TempDirectory();
        string log = dir.File("log.jsonl");
        Train($"--rounds 4 --client-dp --client-dp-epsilon 3 --no-checkpoint --log-json {log}");
        double last = Records(log)[^1].GetProperty("client_dp_epsilon").GetDouble();
        Assert.InRange(last, 2.95, 3.0);
    }

    [Fact]
    public void Resume_keeps_the_epsilon_the_adaptive_clip_and_the_model_of_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        const string dp = "--client-dp --client-dp-noise 1.1 --client-dp-adaptive --client-dp-count-noise 2 --client-dp-clip 0.05";
        string straightLog = dir.File("straight.jsonl"), resumedLog = dir.File("resumed.jsonl");
        Train($"--rounds 4 {dp} --checkpoint {dir.File("straight.ckpt")} --log-json {straightLog}");
        Train($"--rounds 2 {dp} --checkpoint {dir.File("resumed.ckpt")} --log-json {resumedLog}");
        Train($"--rounds 4 {dp} --checkpoint {dir.File("resumed.ckpt")} --log-json {resumedLog} --resume");
        var straight = Records(straightLog);
        var resumed = Records(resumedLog);
        Assert.Equal(4, resumed.Count);
        foreach (string field in new[] { "client_dp_epsilon", "client_dp_clip", "client_dp_next_clip" })
            for (int i = 0; i < 4; i++)
                Assert.Equal(straight[i].GetProperty(field).GetDouble(), resumed[i].GetProperty(field).GetDouble());
        Assert.NotEqual(straight[0].GetProperty("client_dp_clip").GetDouble(), straight[3].GetProperty("client_dp_clip").GetDouble());
        Assert.Equal(CheckpointFile.Read(dir.File("straight.ckpt")).Parameters, CheckpointFile.Read(dir.File("resumed.ckpt")).Parameters);
        // One run id across the resume: the ledger counts the 4 rounds once.
        var ledger = PrivacyLedger.Load(dir.File(ClientDpSession.LedgerFileName));
        var ids = ledger.Entries.Select(e => e.Range.RunId).Distinct().ToList();
        Assert.Equal(2, ids.Count);   // the straight run and the resumed one
        var independent = new RdpAccountant();
        independent.Compose(0.4, 1.1, 8);
        Assert.Equal(independent.GetEpsilon(1e-5).Epsilon, ledger.Spent(ledger.Entries[0].DatasetId, 1e-5).Epsilon, 9);
    }

    [Fact]
    public void The_budget_refuses_a_plan_that_would_exceed_it_and_a_spent_budget()
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File("a.ckpt");
        Train($"--rounds 3 --client-dp --client-dp-noise 1.1 --checkpoint {checkpoint} --dp-budget 10");
        var spent = PrivacyLedger.Load(dir.File(ClientDpSession.LedgerFileName));
        double epsilon = spent.Spent(spent.Entries[0].DatasetId, 1e-5).Epsilon;

        var error = new StringWriter();
        string other = dir.File("b.ckpt");
        int code = TrainCommand.Run([.. Args($"{Common} --rounds 3 --client-dp --client-dp-noise 1.1 --checkpoint {other} --dp-budget {epsilon + 0.5}")], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains("would exceed the privacy budget", error.ToString());
        Assert.False(File.Exists(other), "training started although the budget was exceeded");

        error = new StringWriter();
        code = TrainCommand.Run([.. Args($"{Common} --rounds 3 --client-dp --client-dp-noise 1.1 --checkpoint {other} --dp-budget {epsilon * 0.9}")], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains("privacy budget already spent", error.ToString());
        Assert.False(File.Exists(other));
    }

    [Fact]
    public void Resume_without_the_privacy_state_is_refused()
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File("a.ckpt");
        Train($"--rounds 2 --client-dp --client-dp-noise 1 --checkpoint {checkpoint}");
        File.Delete(ClientDpState.PathFor(checkpoint));
        var error = new StringWriter();
        int code = TrainCommand.Run([.. Args($"{Common} --rounds 3 --client-dp --client-dp-noise 1 --checkpoint {checkpoint} --resume")], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains(".client-dp.json does not exist", error.ToString());
    }

    [Theory]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-clip -1", "--client-dp-clip must be a finite number > 0, but was -1")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-clip NaN", "--client-dp-clip must be a finite number > 0, but was NaN")]
    [InlineData("--client-dp --client-dp-noise NaN", "--client-dp-noise must be a finite number >= 0")]
    [InlineData("--client-dp --client-dp-epsilon 0", "--client-dp-epsilon must be a finite number > 0, but was 0")]
    [InlineData("--client-dp --client-dp-epsilon 3 --client-dp-noise 1", "exactly one of --client-dp-noise Z and --client-dp-epsilon EPS")]
    [InlineData("--client-dp", "exactly one of --client-dp-noise Z and --client-dp-epsilon EPS")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-delta 1", "--client-dp-delta must be in (0, 1)")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-adaptive --client-dp-quantile 0", "--client-dp-quantile must be in (0, 1), but was 0")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-adaptive --client-dp-quantile 1.5", "--client-dp-quantile must be in (0, 1), but was 1.5")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-quantile 0.5", "--client-dp-quantile applies with --client-dp-adaptive only")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-adaptive", "--client-dp-count-noise 0.4 is too small for noise multiplier 1")]
    [InlineData("--client-dp --client-dp-noise 0 --client-dp-adaptive", "--client-dp-adaptive needs noise")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-noise-at nowhere", "--client-dp-noise-at must be server or clients")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-noise-at clients --client-dp-min-clients 9", "--client-dp-min-clients must be in 1..8")]
    [InlineData("--client-dp --client-dp-noise 1 --dp-budget 0", "--dp-budget must be a finite number > 0, but was 0")]
    [InlineData("--client-dp --client-dp-noise 1 --dp-budget 5 --no-checkpoint", "--dp-budget needs the privacy ledger")]
    [InlineData("--client-dp-noise 1", "--client-dp-noise applies with --client-dp only")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-clip 2 --secure-aggregation", "which allows a clip norm of at most 1")]
    [InlineData("--client-dp --client-dp-noise 1 --client-dp-noise-at clients --secure-aggregation --secagg-clip 2", "use --secagg-clip 4.578 or more")]
    public void Bad_client_dp_options_are_refused_before_training(string dpArgs, string expected) =>
        RefusedArguments.AssertRefused($"{Base} --rounds 2 {dpArgs}", expected);

    [Theory]
    [InlineData("--client-dp --client-dp-noise 1", "--client-dp applies to the federated strategies only")]
    [InlineData("--client-dp-noise 1", "--client-dp-noise applies with --client-dp to the federated strategies only")]
    [InlineData("--client-dp-quantile 0.5", "--client-dp-quantile applies with --client-dp-adaptive only")]
    public void Client_dp_with_a_strategy_that_is_not_federated_is_refused(string dpArgs, string expected) =>
        RefusedArguments.AssertRefused($"--synthetic 600 --layers 12,16,3 --device cpu --strategy ddp {dpArgs}", expected);
}
