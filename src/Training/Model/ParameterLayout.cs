namespace AllReduceNet.Training.Model;

/// <summary>
/// Where each dense layer's parameters live in the flat parameter vector: layer l's weights
/// (sizes[l] x sizes[l + 1], row-major) then its bias (sizes[l + 1]), layer after layer. One layer's weights and
/// bias are contiguous, so a layer is one gradient bucket, and any contiguous range of the vector is a valid shard.
/// </summary>
internal sealed class ParameterLayout
{
    private readonly int[] _offsets;

    public ParameterLayout(IReadOnlyList<int> sizes)
    {
        if (sizes.Count < 2) throw new ArgumentException("a model needs at least an input and an output size.", nameof(sizes));
        Sizes = sizes.ToArray();
        _offsets = new int[LayerCount + 1];
        long total = 0;
        for (int l = 0; l < LayerCount; l++)
        {
            _offsets[l] = (int)total;
            total += (long)Sizes[l] * Sizes[l + 1] + Sizes[l + 1];
            if (total > int.MaxValue) throw new TrainingException($"the model with layers {string.Join(",", Sizes)} has more than {int.MaxValue} parameters.");
        }
        _offsets[LayerCount] = (int)total;
    }

    public int[] Sizes { get; }
    public int LayerCount => Sizes.Length - 1;
    public int Count => _offsets[LayerCount];

    /// <summary>Offset of layer <paramref name="layer"/>'s weights; its bias follows them.</summary>
    public int LayerOffset(int layer) => _offsets[layer];
    public int LayerLength(int layer) => _offsets[layer + 1] - _offsets[layer];
    public int WeightCount(int layer) => Sizes[layer] * Sizes[layer + 1];
}
