using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Strategies.TensorParallel;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Tests;

/// <summary>--strategy tensor: every rank runs the whole batch through its share of every layer (Megatron-style).</summary>
public class TensorParallelTests
{
    // The row layers' outputs are sums of per-rank partial products, in another order than one rank's product: rounding only.
    private const float Tolerance = 1e-5f;

    private static TrainSettings Tensor(int ranks, int[]? layers = null, OptimizerSettings? optimizer = null) =>
        Harness.Settings(StrategyKind.Tensor, ranks) with
        {
            Layers = layers ?? Harness.Layers,
            Optimizer = optimizer ?? new OptimizerSettings(OptimizerKind.Sgd, 0.05f, 0.9f, 0f),
        };

    [Theory]
    [InlineData(2, new[] { 12, 16, 8, 3 }, false)]         // column, row, replicated: the default model's shape
    [InlineData(3, new[] { 12, 16, 8, 3 }, false)]         // uneven column shares (5, 5, 6) and a batch of 40 the ranks cannot share equally
    [InlineData(4, new[] { 12, 16, 8, 3 }, true)]          // Adam: two optimizer slots scattered and gathered
    [InlineData(2, new[] { 12, 16, 10, 12, 3 }, false)]    // column, row, column, row: the logits are a row layer's sum
    [InlineData(3, new[] { 12, 16, 10, 12, 8, 3 }, true)]  // a column layer after a row layer sums its input gradient
    [InlineData(1, new[] { 12, 16, 8, 3 }, false)]         // one rank holds everything
    public void Tensor_parallel_training_equals_single_rank_training(int ranks, int[] layers, bool adam)
    {
        var optimizer = adam ? new OptimizerSettings(OptimizerKind.Adam, 1e-2f, 0f, 0f) : new OptimizerSettings(OptimizerKind.Sgd, 0.05f, 0.9f, 0f);
        var one = Harness.Settings(StrategyKind.Ddp, 1) with { Layers = layers, Optimizer = optimizer };
        var reference = Harness.Train(one);
        Assert.True(Harness.Movement(one, reference.Parameters) > 1e-2f, "the reference run did not train");
        var result = Harness.Train(Tensor(ranks, layers, optimizer));
        Harness.AssertClose(reference.Parameters, result.Parameters, Tolerance, $"tensor on {ranks} ranks vs 1 rank");
        for (int s = 0; s < reference.OptimizerSlots.Length; s++)
            Harness.AssertClose(reference.OptimizerSlots[s], result.OptimizerSlots[s], Tolerance, $"optimizer slot {s}");
        Assert.Equal(reference.OptimizerSteps, result.OptimizerSteps);
    }

    [Fact]
    public void Every_rank_gathers_the_same_full_state()
    {
        var settings = Tensor(3);
        var report = new ReportWriter(TextWriter.Null, null, quiet: true);
        var states = InProcessWorld.Run(3, world => Trainer.Run(world, settings, Harness.Data, null, report));
        for (int r = 1; r < 3; r++)
        {
            Assert.Equal(states[0].Parameters, states[r].Parameters);
            Assert.Equal(states[0].OptimizerSlots[0], states[r].OptimizerSlots[0]);
        }
    }

    [Theory]
    [InlineData(2, new[] { 12, 16, 8, 3 })]
    [InlineData(3, new[] { 12, 16, 10, 12, 8, 3 })]
    [InlineData(4, new[] { 5, 7, 9, 4 })]
    public void Scattered_shares_placed_back_and_summed_give_the_full_vector_bitwise(int ranks, int[] layers)
    {
        var layout = new Model.ParameterLayout(layers);
        var random = new Random(5);
        // Negative zeros too: x + 0 would turn -0 into +0, so every element must be owned by exactly one rank.
        var full = Enumerable.Range(0, layout.Count).Select(i => i % 17 == 0 ? -0f : (float)random.NextDouble() - 0.5f).ToArray();
        var sum = new float[layout.Count];
        var owners = new int[layout.Count];
        int held = 0;
        for (int r = 0; r < ranks; r++)
        {
            var plan = new TensorParallelPlan(layers, r, ranks);
            var local = new float[plan.LocalCount];
            plan.Scatter(full, local);
            held += plan.LocalCount;
            var placed = Enumerable.Repeat(float.NaN, layout.Count).ToArray();
            plan.Place(local, placed);
            for (int i = 0; i < placed.Length; i++)
                if (!float.IsNaN(placed[i]))
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(full[i]), BitConverter.SingleToInt32Bits(placed[i]));
                    owners[i]++;
                }
        }
        Assert.All(owners, count => Assert.Equal(1, count));
        // Replicated parts are held by every rank; split parts by one: the ranks hold at least the model.
        Assert.True(held >= layout.Count);
    }

    [Fact]
    public void The_plan_splits_column_layers_by_outputs_and_row_layers_by_inputs()
    {
        var plan = new TensorParallelPlan([784, 256, 128, 10], rank: 1, ranks: 2);
        Assert.Equal([TensorLayerRole.Column, TensorLayerRole.Row, TensorLayerRole.Replicated], plan.Roles);
        Assert.Equal([784, 128, 128], plan.LocalIn);
        Assert.Equal([128, 128, 10], plan.LocalOut);
        Assert.Equal(784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10, plan.LocalCount);
    }

    [Fact]
    public void A_column_layer_narrower_than_the_ranks_is_refused_by_the_plan() =>
        Assert.Contains("layer 0 has 3 outputs, fewer than the 4 ranks",
            Assert.Throws<ArgumentException>(() => new TensorParallelPlan([12, 3, 8, 3], 0, 4)).Message);

    [Fact]
    public void Tensor_reports_each_layers_split()
    {
        var output = new StringWriter();
        Harness.Train(Tensor(2), output: output);
        string text = output.ToString();
        Assert.Contains("tensor: 2 ranks share every layer", text);
        Assert.Contains("layer 0 12x16 split by output columns: 12x8 on rank 0", text);
        Assert.Contains("layer 1 16x8 split by input rows: 8x8 on rank 0, one AllReduce of its output", text);
        Assert.Contains("layer 2 8x3 replicated on every rank", text);
    }

    [Fact]
    public void Tensor_resumed_after_a_kill_ends_identical_to_an_uninterrupted_run() =>
        KilledRun.AssertResumeEqualsUninterrupted("--strategy tensor --ranks 2 --synthetic 240 --layers 12,10,8,3 --batch-size 24 --epochs 3 --device cpu");

    [Fact]
    public void A_tensor_checkpoint_resumes_under_ddp()
    {
        using var dir = new TempDirectory();
        string common = "--ranks 2 --synthetic 240 --layers 12,10,8,3 --batch-size 24 --device cpu --quiet";
        string handedOver = dir.File("handed-over.ckpt"), ddpOnly = dir.File("ddp.ckpt");
        Assert.Equal(0, TrainCommand.Run([.. $"--strategy tensor --epochs 1 {common} --checkpoint {handedOver}".Split(' ')], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, TrainCommand.Run([.. $"--strategy ddp --epochs 2 {common} --checkpoint {handedOver} --resume".Split(' ')], TextWriter.Null, TextWriter.Null));
        Assert.Equal(0, TrainCommand.Run([.. $"--strategy ddp --epochs 2 {common} --checkpoint {ddpOnly}".Split(' ')], TextWriter.Null, TextWriter.Null));
        var resumed = CheckpointFile.Read(handedOver);
        Assert.Equal(2, resumed.CompletedEpochs);
        Harness.AssertClose(CheckpointFile.Read(ddpOnly).Parameters, resumed.Parameters, Tolerance, "tensor's first epoch then ddp's second vs ddp for both");
    }

    [MpiTheory]
    [InlineData(2, "")]                    // two addends per sum: a + b = b + a exactly, so any algorithm gives the same bits
    [InlineData(4, " --algorithm ring")]   // the same algorithm on both transports sums in the same order
    public void Tensor_under_mpiexec_equals_the_in_process_run(int ranks, string algorithm) =>
        MpiTrain.AssertEqualsInProcess(ranks, $"--strategy tensor --layers 12,10,8,3 --synthetic 240 --batch-size 24 --device cpu{algorithm}");

    [Theory]
    [InlineData("--strategy tensor --ranks 4 --layers 784,3,128,10", "--strategy tensor splits layer 0's 3 outputs (--layers '784,3,128,10') over the 4 ranks")]
    [InlineData("--strategy tensor --ranks 2 --dp --dp-noise 1", "--dp is not available with --strategy tensor")]
    [InlineData("--strategy tensor --ranks 2 --compress fp16", "--compress applies to --strategy ddp only")]
    [InlineData("--strategy tensor --ranks 2 --reproducible", "--reproducible applies to --strategy ddp only")]
    public void Bad_tensor_settings_are_refused_with_a_clear_error(string args, string expected) =>
        RefusedArguments.AssertRefused(args, expected);
}
