using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Asks the CPU to start fetching the rows named by <paramref name="indices"/> into its caches (a hint: nothing is
    /// read, nothing changes), so that a later <see cref="Gather"/> of them finds them there instead of waiting on
    /// memory line by line. Does nothing where the CPU has no prefetch instruction.
    /// </summary>
    public unsafe void Prefetch(ReadOnlySpan<int> indices)
    {
        if (!Sse.IsSupported) return;
        const int LineFloats = 64 / sizeof(float);
        fixed (float* inputs = Inputs)
            foreach (int s in indices)
            {
                float* row = inputs + (long)s * Features;
                for (int f = 0; f < Features; f += LineFloats) Sse.Prefetch1(row + f);
                Sse.Prefetch1(row + Features - 1);
            }
    }
}
