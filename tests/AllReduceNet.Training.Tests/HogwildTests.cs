using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Training;
using CommandLine;

namespace AllReduceNet.Training.Tests;

/// <summary>--strategy hogwild: threads updating one shared parameter vector without locks.</summary>
public class HogwildTests
{
    private static TrainSettings Settings(int ranks, int epochs = 3) => Harness.Settings(StrategyKind.Hogwild, ranks, epochs: epochs) with
    {
        Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.2f, 0f, 0f),
    };

    [Fact]
    public void One_thread_is_plain_sgd()
    {
        var hogwild = Harness.Train(Settings(1));
        var sgd = Harness.Train(Settings(1) with { Strategy = StrategyKind.Ddp });
        Assert.True(Harness.Movement(Settings(1), hogwild.Parameters) > 1e-2f, "hogwild did not train");
        Harness.AssertClose(sgd.Parameters, hogwild.Parameters, 1e-5f, "hogwild on 1 thread vs SGD without momentum");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Threads_share_one_model_and_learn(int ranks)
    {
        var settings = Settings(ranks, epochs: 6);
        var data = Harness.Data;
        var report = new ReportWriter(TextWriter.Null, null, quiet: true);
        var states = InProcessWorld.Run(ranks, world => Trainer.Run(world, settings, data, null, report));
        // One shared copy: every rank's checkpoint is the same vector.
        for (int r = 1; r < ranks; r++) Assert.Equal(states[0].Parameters, states[r].Parameters);
        var sync = Harness.Train(settings with { Strategy = StrategyKind.Ddp });
        Assert.True(Harness.Movement(settings, states[0].Parameters) > 1e-2f, "hogwild did not train");
        double hogwildLoss = Loss(states[0].Parameters), syncLoss = Loss(sync.Parameters), initialLoss = Loss(Trainer.InitialState(settings, new Model.ParameterLayout(settings.Layers)).Parameters);
        Assert.True(hogwildLoss < 0.7 * initialLoss, $"hogwild's loss {hogwildLoss:F3} is not well below the initial {initialLoss:F3}");
        Assert.True(hogwildLoss < 1.5 * syncLoss + 0.05, $"hogwild's loss {hogwildLoss:F3} is far above synchronous SGD's {syncLoss:F3}");
    }

    /// <summary>Mean cross-entropy of the model on the harness's training set, in plain scalar code.</summary>
    private static double Loss(float[] parameters)
    {
        var layout = new Model.ParameterLayout(Harness.Layers);
        var train = Harness.Data.Train;
        double total = 0;
        for (int s = 0; s < train.Count; s++)
        {
            float[] x = train.Inputs.AsSpan(s * train.Features, train.Features).ToArray();
            for (int l = 0; l < layout.LayerCount; l++)
            {
                int inputs = layout.Sizes[l], outputs = layout.Sizes[l + 1], offset = layout.LayerOffset(l);
                var y = new float[outputs];
                for (int j = 0; j < outputs; j++)
                {
                    float sum = parameters[offset + inputs * outputs + j];
                    for (int i = 0; i < inputs; i++) sum += x[i] * parameters[offset + i * outputs + j];
                    y[j] = l < layout.LayerCount - 1 ? MathF.Max(sum, 0) : sum;
                }
                x = y;
            }
            double max = x.Max(), log = Math.Log(x.Sum(v => Math.Exp(v - max))) + max;
            total += log - x[train.Labels[s]];
        }
        return total / train.Count;
    }

    [Theory]
    [InlineData("--strategy hogwild --ranks 2 --momentum 0.9", "--momentum must be 0")]
    [InlineData("--strategy hogwild --ranks 2 --optimizer adam", "runs plain SGD")]
    [InlineData("--strategy hogwild --ranks 2 --weight-decay 0.01", "--weight-decay 0.01 would touch every parameter")]
    public void Bad_hogwild_options_are_refused(string args, string expected)
    {
        RefusedArguments.AssertRefused($"{args} --synthetic 400", expected);
    }

    [Fact]
    public void Hogwild_is_refused_under_mpiexec_with_the_reason()
    {
        var options = Parser.Default.ParseArguments<TrainOptions>(["--strategy", "hogwild", "--synthetic", "400"]).Value;
        var error = Assert.Throws<TrainingException>(() => SettingsValidator.Validate(options, launchedRanks: 4));
        Assert.Contains("--strategy hogwild runs in-process only", error.Message);
        Assert.Contains("share no memory", error.Message);
    }

    [Fact]
    public void Hogwild_defaults_to_the_async_learning_rate_without_momentum()
    {
        var options = Parser.Default.ParseArguments<TrainOptions>(["--strategy", "hogwild", "--ranks", "2"]).Value;
        var settings = SettingsValidator.Validate(options, launchedRanks: null);
        Assert.Equal(0f, settings.Optimizer.Momentum);
        Assert.Equal(0.2f, settings.Optimizer.LearningRate);
    }
}
