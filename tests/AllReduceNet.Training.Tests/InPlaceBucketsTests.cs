using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Strategies;

namespace AllReduceNet.Training.Tests;

/// <summary>ddp's CPU buckets summed where the backward pass left them (<see cref="InPlaceBuckets"/>).</summary>
public class InPlaceBucketsTests
{
    // Layer 0's weights (100 x 64 = 6400) are summed in place; its bias, layer 1's weights (64 x 3) and bias go into
    // the small vector.
    private static readonly int[] Sizes = [100, 64, 3];

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_gradient_tensor_gets_the_sum_over_the_ranks(int ranks)
    {
        var results = InProcessWorld.Run(ranks, world =>
        {
            using var backend = KernelBackends.Create("cpu");
            using var model = new Mlp(backend, Sizes);
            var buckets = InPlaceBuckets.TryCreate(model) ?? throw new InvalidOperationException("the CPU backend's tensors are not host memory");
            for (int step = 0; step < 2; step++)
            {
                for (int t = 0; t < model.GradientTensors.Count; t++)
                    model.GradientTensors[t].CopyFrom(Values(model.GradientTensors[t].Length, world.Rank, t, step));
                buckets.BeginStep();
                var pending = new List<CollectiveHandle>();
                for (int layer = model.Layout.LayerCount - 1; layer >= 0; layer--)
                    buckets.LayerReady(layer, tensor => pending.Add(world.StartAllReduce(tensor, ReduceOp.Sum)));
                foreach (var handle in pending) handle.Wait();
                buckets.EndStep();
                Assert.Equal(buckets.CollectivesPerStep, pending.Count);
            }
            return (buckets.CollectivesPerStep, model.GradientTensors.Select(g => g.ToArray()).ToArray());
        });
        foreach (var (collectives, tensors) in results)
        {
            Assert.Equal(2, collectives);   // layer 0's weights, then the small vector
            for (int t = 0; t < tensors.Length; t++)
            {
                var expected = new float[tensors[t].Length];
                for (int r = 0; r < ranks; r++)
                {
                    var values = Values(expected.Length, r, t, step: 1);
                    for (int i = 0; i < expected.Length; i++) expected[i] += values[i];
                }
                Assert.Equal(expected, tensors[t]);
            }
        }
    }

    [Fact]
    public void A_step_that_ends_before_every_layer_was_announced_is_refused()
    {
        using var backend = KernelBackends.Create("cpu");
        using var model = new Mlp(backend, Sizes);
        var buckets = InPlaceBuckets.TryCreate(model)!;
        buckets.BeginStep();
        buckets.LayerReady(1, _ => { });
        var error = Assert.Throws<TrainingException>(() => buckets.EndStep());
        Assert.Contains("1 of the model's 2 layers", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => buckets.LayerReady(2, _ => { }));
    }

    // Small integers: every order of addition gives the same float, so the expected sum is exact.
    private static float[] Values(int length, int rank, int tensor, int step) =>
        Enumerable.Range(0, length).Select(i => (float)((i * 7 + rank * 13 + tensor * 5 + step * 3) % 17 - 8)).ToArray();
}
