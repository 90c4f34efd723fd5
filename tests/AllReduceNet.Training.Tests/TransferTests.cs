using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Strategies;
using AllReduceNet.Training.Training;

namespace AllReduceNet.Training.Tests;

/// <summary>What a ddp step moves between host memory and the kernel backend: the batch, the loss head's small
/// exchanges, and (on an accelerator) the gradient buckets once down and once up; never the parameters or the
/// optimizer state. The CPU backend's buckets are summed in place (<see cref="InPlaceBuckets"/>): nothing of them moves.</summary>
public class TransferTests
{
    [Theory]
    [InlineData("cpu", 1)]
    [InlineData("cpu", 2)]
    [InlineData("cpu", 3)]
    public void A_ddp_step_moves_only_the_batch_and_the_gradient_buckets(string device, int ranks)
    {
        var settings = Harness.Settings(StrategyKind.Ddp, ranks);
        var data = Harness.Data;
        var perRank = InProcessWorld.Run(ranks, world =>
        {
            using var backend = KernelBackends.Create(device);
            var context = new StrategyContext(world, settings, backend, data, new CommunicationClock());
            using var strategy = new DdpStrategy(context);
            strategy.Load(Trainer.InitialState(settings, context.Layout));
            var sampler = new EpochSampler(data.Train.Count, settings.BatchSize, settings.Seed, epoch: 0);
            var steps = new List<(long Down, long Up, long DownCopies, long UpCopies, int Rows)>();
            backend.Transfers.Reset();
            strategy.TrainEpoch(sampler, step =>
            {
                var t = backend.Transfers;
                steps.Add((t.DeviceToHostBytes, t.HostToDeviceBytes, t.DeviceToHostCopies, t.HostToDeviceCopies,
                    sampler.Shard(step, world.Rank, world.Size).Length));
                t.Reset();
            });
            return (steps, context.Layout.Count, context.Layout.LayerCount);
        });

        foreach (var (steps, parameters, layers) in perRank)
        {
            Assert.NotEmpty(steps);
            // With one rank there is nothing to sum, so the buckets stay on the device too; on the CPU they are summed in place.
            bool moved = ranks > 1 && device != "cpu";
            long bucketBytes = moved ? (long)parameters * sizeof(float) : 0;
            int bucketCopies = moved ? 2 * layers : 0; // each layer's weights and bias
            int classes = data.Train.Classes, features = data.Train.Features;
            foreach (var (down, up, downCopies, upCopies, rows) in steps)
            {
                // Down: the logits (to count correct predictions) and the labels (checked by the loss kernel).
                Assert.Equal(bucketBytes + (long)rows * (classes + 1) * sizeof(float), down);
                Assert.Equal(bucketCopies + 2, downCopies);
                // Up: the batch's inputs and labels; on the CPU the inputs are gathered straight into the backend's buffer.
                bool inputsCopied = device != "cpu";
                Assert.Equal(bucketBytes + (long)rows * ((inputsCopied ? features : 0) + 1) * sizeof(float), up);
                Assert.Equal(bucketCopies + (inputsCopied ? 2 : 1), upCopies);
            }
        }
    }
}
