namespace AllReduceNet.Training.Data;

/// <summary>Samples as rows of floats (row-major, <see cref="Features"/> per row) with integer class labels.</summary>
internal sealed class Dataset
{
    public Dataset(float[] inputs, int[] labels, int features, int classes)
    {
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features));
        if (inputs.Length != (long)labels.Length * features)
            throw new ArgumentException($"inputs holds {inputs.Length} floats, but {labels.Length} samples of {features} features need {(long)labels.Length * features}.");
        Inputs = inputs;
        Labels = labels;
        Features = features;
        Classes = classes;
    }

    public float[] Inputs { get; }
    public int[] Labels { get; }
    public int Features { get; }
    public int Classes { get; }
    public int Count => Labels.Length;

    /// <summary>Copies the samples named by <paramref name="indices"/> into contiguous rows.</summary>
    public void Gather(ReadOnlySpan<int> indices, Span<float> inputs, Span<int> labels)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            int s = indices[i];
            Inputs.AsSpan(s * Features, Features).CopyTo(inputs.Slice(i * Features, Features));
            labels[i] = Labels[s];
        }
    }
}
