using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Checkpoints;

/// <summary>
/// Everything needed to continue training, or to serve the model: the MLP's layer sizes, the flat parameter vector
/// (layer by layer: weights [in x out] row-major, then bias [out]), the optimizer's state in the same layout, how many
/// epochs are complete, and the seed that orders the data. Strategies that shard state gather it into this full form.
/// </summary>
/// <param name="LayerSizes">Widths from input to output, e.g. 784, 256, 128, 10.</param>
/// <param name="CompletedEpochs">Epochs finished; training resumes with the next one.</param>
/// <param name="Seed">The seed of initialization and shuffling.</param>
/// <param name="Optimizer">The update rule the state belongs to.</param>
/// <param name="OptimizerSteps">Optimizer steps taken (Adam's bias correction needs it).</param>
/// <param name="Parameters">The flat parameter vector.</param>
/// <param name="OptimizerSlots">One vector per state slot (SGD: momentum; Adam: first, then second moment), each as long as <paramref name="Parameters"/>.</param>
public sealed record Checkpoint(int[] LayerSizes, int CompletedEpochs, int Seed, OptimizerKind Optimizer, long OptimizerSteps,
    float[] Parameters, float[][] OptimizerSlots)
{
    /// <summary>A DP-SGD run's privacy section (JSON: run id, data set, the accountant's history), or null. A checkpoint
    /// with one is written as format version 2 (docs/checkpoint-format.md).</summary>
    public string? Privacy { get; init; }
}
