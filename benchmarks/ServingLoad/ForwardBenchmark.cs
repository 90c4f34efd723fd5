using System.Globalization;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Serving.LoadBenchmarks;

/// <summary>
/// The in-process limit of serving: the served model's batched forward pass (copy in, Mlp.Forward, Softmax) on the
/// CPU kernel backend, as Serve's batcher runs it, with no HTTP and no JSON. Its rows per second bound what any
/// server of this model on this machine can answer.
/// </summary>
internal static class ForwardBenchmark
{
    public static IEnumerable<string> Run(string checkpointPath, IEnumerable<int> batches)
    {
        var checkpoint = CheckpointFile.Read(checkpointPath);
        using var backend = KernelBackends.Create("cpu");
        using var mlp = new Mlp(backend, checkpoint.LayerSizes);
        mlp.WriteParameters(checkpoint.Parameters);
        var random = new Random(1);
        foreach (int batch in batches)
        {
            using var activations = mlp.CreateActivations(batch);
            using var input = backend.Allocate<float>(batch * mlp.InputSize);
            using var probabilities = backend.Allocate<float>(batch * mlp.OutputSize);
            var rows = new float[batch * mlp.InputSize];
            for (int i = 0; i < rows.Length; i++) rows[i] = random.Next(256);
            double seconds = Timing.MedianSecondsPerCall(() =>
            {
                input.CopyFrom(rows);
                var logits = mlp.Forward(activations, input, batch);
                backend.Softmax(logits, probabilities, batch, mlp.OutputSize);
            });
            yield return string.Create(CultureInfo.InvariantCulture,
                $"name=forward-{batch} batch={batch} rows_per_s={batch / seconds:F0} us_per_pass={seconds * 1e6:F1} layers={string.Join(",", checkpoint.LayerSizes)}");
        }
    }
}
