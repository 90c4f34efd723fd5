using System.Text.Json;
using AllReduceNet.Privacy.Accounting;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Privacy;

namespace AllReduceNet.Training.Tests.Privacy;

/// <summary>DP-SGD runs of Train on small synthetic data: the printed ε, the checkpoint, --resume, the ledger, the budget.</summary>
public class DpSgdTrainingTests
{
    // 480 samples, expected batch 40: q = 1/12, 12 steps an epoch.
    private const double Q = 40.0 / 480;
    private const int StepsPerEpoch = 12;

    private static string[] Args(TempDirectory dir, string extra) =>
        [.. $"--synthetic 480 --layers 12,16,8,3 --batch-size 40 --device cpu --quiet --lr 0.2 --dp --dp-clip 1 {extra} --checkpoint {dir.File("train.ckpt")} --log-json {dir.File("log.jsonl")}".Split(' ', StringSplitOptions.RemoveEmptyEntries)];

    private static void Train(TempDirectory dir, string extra)
    {
        var error = new StringWriter();
        int code = TrainCommand.Run(Args(dir, extra), TextWriter.Null, error);
        Assert.True(code == 0, $"Train exited {code}: {error}");
    }

    private static List<JsonElement> Log(TempDirectory dir) =>
        File.ReadAllLines(dir.File("log.jsonl")).Select(line => JsonDocument.Parse(line).RootElement).ToList();

    private static double Independent(double sigma, long steps, double delta = 1e-5)
    {
        var accountant = new RdpAccountant();
        accountant.Compose(Q, sigma, steps);
        return accountant.GetEpsilon(delta).Epsilon;
    }

    [Theory]
    [InlineData("ddp", "--ranks 3")]
    [InlineData("zero", "--ranks 2")]
    [InlineData("ps", "--ranks 3 --servers 1 --sync")]
    public void The_epsilon_printed_every_epoch_equals_an_independent_accountant(string strategy, string extra)
    {
        using var dir = new TempDirectory();
        Train(dir, $"--strategy {strategy} {extra} --epochs 2 --dp-noise 1.1");
        var log = Log(dir);
        Assert.Equal(2, log.Count);
        for (int e = 0; e < 2; e++)
        {
            Assert.Equal(1e-5, log[e].GetProperty("delta").GetDouble());
            Assert.Equal(Independent(1.1, StepsPerEpoch * (e + 1)), log[e].GetProperty("epsilon").GetDouble(), 12);
        }
        var checkpoint = CheckpointFile.Read(dir.File("train.ckpt"));
        Assert.NotNull(checkpoint.Privacy);
        Assert.True(Harness.Movement(Harness.Settings(StrategyKind.Ddp, 1), checkpoint.Parameters) > 1e-3, "DP-SGD did not train");
        Assert.True(log[^1].GetProperty("train_accuracy").GetDouble() > 0.5, "DP-SGD with little noise should learn the synthetic classes");
    }

    [Fact]
    public void Epsilon_target_gives_sigma_whose_final_epsilon_is_at_most_the_target()
    {
        using var dir = new TempDirectory();
        Train(dir, "--ranks 2 --epochs 2 --dp-epsilon 4");
        double epsilon = Log(dir)[^1].GetProperty("epsilon").GetDouble();
        Assert.InRange(epsilon, 4 - 0.02, 4.0);
    }

    [Fact]
    public void Resume_restores_the_accountant_and_the_ledger_counts_each_step_once()
    {
        using var dir = new TempDirectory();
        Train(dir, "--ranks 2 --epochs 2 --dp-noise 0.9");
        var first = PrivacyCheckpointState.FromJson(CheckpointFile.Read(dir.File("train.ckpt")).Privacy!, "train.ckpt");
        Assert.Equal(2 * StepsPerEpoch, first.Steps);
        // Resuming with the same epochs trains nothing more; then one more epoch.
        Train(dir, "--ranks 2 --epochs 2 --dp-noise 0.9 --resume");
        Train(dir, "--ranks 2 --epochs 3 --dp-noise 0.9 --resume");
        var log = Log(dir);
        Assert.Equal(3, log.Count);
        Assert.Equal(Independent(0.9, 3 * StepsPerEpoch), log[2].GetProperty("epsilon").GetDouble(), 12);
        var state = PrivacyCheckpointState.FromJson(CheckpointFile.Read(dir.File("train.ckpt")).Privacy!, "train.ckpt");
        Assert.Equal(first.RunId, state.RunId);
        var ledger = PrivacyLedger.Load(dir.File(DpSgdPlan.LedgerFileName));
        Assert.All(ledger.Entries, e => Assert.Equal(first.RunId, e.Range.RunId));
        Assert.True(ledger.Entries.Count >= 3);
        var composed = ledger.Compose(state.DatasetId);
        Assert.Equal(3 * StepsPerEpoch, composed.TotalSteps);
        Assert.Equal(log[2].GetProperty("epsilon").GetDouble(), composed.GetEpsilon(1e-5).Epsilon, 12);
        Assert.Equal(log[2].GetProperty("epsilon").GetDouble(), log[2].GetProperty("dataset_epsilon").GetDouble(), 12);
    }

    [Fact]
    public void Runs_on_the_same_data_compose_in_the_ledger_and_a_spent_budget_refuses_the_next()
    {
        using var dir = new TempDirectory();
        Train(dir, "--ranks 1 --epochs 1 --dp-noise 1.0 --no-checkpoint");
        Train(dir, "--ranks 1 --epochs 1 --dp-noise 1.0 --no-checkpoint");
        var log = Log(dir);
        // The second run alone has the first's epsilon; the data set has spent both runs.
        Assert.Equal(log[0].GetProperty("epsilon").GetDouble(), log[1].GetProperty("epsilon").GetDouble(), 12);
        double twoRuns = log[1].GetProperty("dataset_epsilon").GetDouble();
        Assert.Equal(Independent(1.0, 2 * StepsPerEpoch), twoRuns, 12);

        var error = new StringWriter();
        Assert.Equal(2, TrainCommand.Run(Args(dir, $"--ranks 1 --epochs 1 --dp-noise 1.0 --no-checkpoint --dp-budget {twoRuns * 0.9}"), TextWriter.Null, error));
        Assert.Contains("privacy budget already spent", error.ToString());
        error = new StringWriter();
        Assert.Equal(2, TrainCommand.Run(Args(dir, $"--ranks 1 --epochs 1 --dp-noise 1.0 --no-checkpoint --dp-budget {twoRuns * 1.05}"), TextWriter.Null, error));
        Assert.Contains("would exceed the privacy budget", error.ToString());
        Assert.Equal(2, Log(dir).Count);
    }

    [Fact]
    public void A_plan_over_the_budget_is_refused_before_training()
    {
        RefusedArguments.AssertRefused("--synthetic 480 --layers 12,16,8,3 --batch-size 40 --epochs 5 --dp --dp-noise 0.5 --dp-budget 1", "would exceed the privacy budget");
    }

    [Fact]
    public void Resuming_a_dp_checkpoint_without_dp_is_refused()
    {
        using var dir = new TempDirectory();
        Train(dir, "--ranks 1 --epochs 1 --dp-noise 1.0");
        var error = new StringWriter();
        string[] args = [.. $"--synthetic 480 --layers 12,16,8,3 --batch-size 40 --device cpu --quiet --epochs 2 --resume --checkpoint {dir.File("train.ckpt")}".Split(' ')];
        Assert.Equal(2, TrainCommand.Run(args, TextWriter.Null, error));
        Assert.Contains("was trained with --dp", error.ToString());
    }

    [Theory]
    [InlineData("--dp --dp-clip -1 --dp-noise 1", "--dp-clip must be a finite number > 0")]
    [InlineData("--dp --dp-clip NaN --dp-noise 1", "--dp-clip must be a finite number > 0")]
    [InlineData("--dp --dp-clip 0 --dp-noise 1", "--dp-clip must be a finite number > 0")]
    [InlineData("--dp --dp-epsilon 0", "--dp-epsilon must be a finite number > 0")]
    [InlineData("--dp --dp-noise -0.5", "--dp-noise must be a number >= 0")]
    [InlineData("--dp --dp-noise 1 --dp-epsilon 3", "exactly one of --dp-noise SIGMA and --dp-epsilon EPS")]
    [InlineData("--dp", "exactly one of --dp-noise SIGMA and --dp-epsilon EPS")]
    [InlineData("--dp --dp-noise 1 --dp-delta 1", "--dp-delta must be in (0, 1)")]
    [InlineData("--dp --dp-noise 1 --dp-budget 0", "--dp-budget must be a finite number > 0")]
    [InlineData("--dp-noise 1", "--dp-noise applies with --dp only")]
    [InlineData("--dp-secure-rng", "--dp-secure-rng applies with --dp only")]
    [InlineData("--dp --dp-noise 1 --strategy pipeline --ranks 3", "--dp is not available with --strategy pipeline")]
    [InlineData("--dp --dp-noise 1 --strategy ps --async --ranks 3", "--dp is not available with --strategy ps --async")]
    [InlineData("--dp --dp-noise 1 --strategy fedavg", "--dp is not available with --strategy fedavg")]
    [InlineData("--dp --dp-noise 1 --strategy gossip --topology ring", "--dp is not available with --strategy gossip")]
    public void Bad_dp_arguments_are_refused_before_training(string args, string expected)
    {
        RefusedArguments.AssertRefused($"--synthetic 480 --layers 12,16,8,3 --batch-size 40 {args}", expected);
    }
}
