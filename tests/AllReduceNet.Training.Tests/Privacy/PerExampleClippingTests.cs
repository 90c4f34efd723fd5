using AllReduceNet.Kernels;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Privacy;

namespace AllReduceNet.Training.Tests.Privacy;

/// <summary>Ghost clipping against per-example gradients materialized one example at a time (the slow reference).</summary>
public class PerExampleClippingTests
{
    private const int Batch = 9;

    /// <summary>Per-example gradients of per-example loss, one backward pass per example.</summary>
    private static float[][] MaterializedGradients(IKernelBackend backend, Mlp model, int[] samples)
    {
        var data = Harness.Data.Train;
        using var activations = model.CreateActivations(1);
        using var head = new LossHead(backend, model.OutputSize, 1);
        using var input = backend.Allocate<float>(data.Features);
        var result = new float[samples.Length][];
        for (int i = 0; i < samples.Length; i++)
        {
            input.CopyFrom(data.Inputs.AsSpan(samples[i] * data.Features, data.Features));
            var logits = model.Forward(activations, input, 1);
            head.Compute(logits, [data.Labels[samples[i]]], 1);
            model.Backward(activations, input, head.Gradient, null, 1);
            result[i] = new float[model.Layout.Count];
            model.ReadGradients(result[i]);
        }
        return result;
    }

    /// <summary>Runs the batch through ghost clipping; returns the clipped sum, the norms and the factors.</summary>
    private static (float[] Sum, float[] Norms, float[] Factors) Ghost(IKernelBackend backend, Mlp model, int[] samples, float clip)
    {
        var data = Harness.Data.Train;
        using var activations = model.CreateActivations(samples.Length);
        using var head = new LossHead(backend, model.OutputSize, samples.Length);
        using var input = backend.Allocate<float>(samples.Length * data.Features);
        var host = new float[samples.Length * data.Features];
        var labels = new int[samples.Length];
        data.Gather(samples, host, labels);
        input.CopyFrom(host);
        using var clipping = new PerExampleClipping(backend, samples.Length);
        var logits = model.Forward(activations, input, samples.Length);
        head.Compute(logits, labels, 1);
        // As the DP step does it: no parameter gradients from the backward pass, so ClipAndSum must write them all.
        model.BackwardOutputGradients(activations, head.Gradient, samples.Length);
        clipping.ClipAndSum(model, activations, input, head.Gradient, samples.Length, clip);
        var sum = new float[model.Layout.Count];
        model.ReadGradients(sum);
        return (sum, clipping.Norms[..samples.Length], clipping.Factors[..samples.Length]);
    }

    private static Mlp Model(IKernelBackend backend)
    {
        var model = new Mlp(backend, Harness.Layers);
        model.WriteParameters(ParameterInitializer.Create(model.Layout, 5));
        return model;
    }

    private static double Norm(float[] v) => Math.Sqrt(v.Sum(x => (double)x * x));

    [Fact]
    public void Ghost_norms_equal_the_norms_of_materialized_per_example_gradients()
    {
        using var backend = KernelBackends.Create("cpu", 1);
        using var model = Model(backend);
        int[] samples = Enumerable.Range(0, Batch).Select(i => i * 13 % Harness.Data.Train.Count).ToArray();
        var reference = MaterializedGradients(backend, model, samples);
        var (sum, norms, factors) = Ghost(backend, model, samples, clip: 1e6f);
        for (int i = 0; i < Batch; i++)
        {
            double expected = Norm(reference[i]);
            Assert.True(expected > 1e-3, $"example {i} has a vanishing gradient ({expected}); the comparison would be empty");
            Assert.True(Math.Abs(norms[i] - expected) <= 1e-4 * expected, $"example {i}: ghost norm {norms[i]}, materialized {expected}");
            Assert.Equal(1f, factors[i]);
        }
        // Unclipped, the sum is the ordinary batch gradient of the summed loss.
        var expectedSum = new float[sum.Length];
        foreach (var g in reference) for (int k = 0; k < g.Length; k++) expectedSum[k] += g[k];
        Harness.AssertClose(expectedSum, sum, 1e-4f, "unclipped per-example sum");
    }

    [Theory]
    [InlineData(0.05f)]
    [InlineData(0.5f)]
    [InlineData(2f)]
    public void Every_clipped_example_is_within_the_bound_and_the_sum_is_the_sum_of_clipped_examples(float clip)
    {
        using var backend = KernelBackends.Create("cpu", 1);
        using var model = Model(backend);
        int[] samples = Enumerable.Range(0, Batch).Select(i => (i * 29 + 3) % Harness.Data.Train.Count).ToArray();
        var reference = MaterializedGradients(backend, model, samples);
        var (sum, _, factors) = Ghost(backend, model, samples, clip);
        var expectedSum = new float[sum.Length];
        int clipped = 0;
        for (int i = 0; i < Batch; i++)
        {
            var scaled = reference[i].Select(x => x * factors[i]).ToArray();
            double norm = Norm(scaled);
            Assert.True(norm <= clip * (1 + 1e-6), $"example {i}: clipped norm {norm} > C = {clip}");
            if (factors[i] < 1) clipped++;
            for (int k = 0; k < scaled.Length; k++) expectedSum[k] += scaled[k];
        }
        if (clip < 0.1f) Assert.Equal(Batch, clipped);
        Harness.AssertClose(expectedSum, sum, 1e-4f, $"clipped sum at C = {clip}");
    }
}
