using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// ddp's buckets when the host can address the gradient tensors themselves (the CPU backend): each large tensor (a
/// layer's weights) is summed where the backward pass left it, and the small ones (the biases, a narrow last layer)
/// are copied into one small vector that is summed once, when the last layer is ready. The copied buckets moved the
/// whole gradient twice per step (into a host vector and back) for nothing on the CPU; and summing every small
/// tensor alone would add a collective's fixed cost (a few to tens of microseconds) per tensor.
/// <para>
/// At 2 ranks every element's sum is the single addition the copied buckets got, so the bits are the same. At more
/// ranks the ring's order of addition for an element depends on where its buffer is cut into chunks, which moves with
/// the tensors' boundaries: the equivalence tests' tolerance covers it, and ddp --reproducible keeps the copied buckets.
/// </para>
/// </summary>
internal sealed class InPlaceBuckets
{
    /// <summary>Tensors of at least this many elements are summed in place; smaller ones go into the small vector.
    /// 4K floats = 16 KiB, the size up to which Auto sums with recursive doubling, whose cost is mostly fixed.</summary>
    internal const int InPlaceElements = 4096;

    private readonly Memory<float>[] _tensors;
    private readonly int[] _smallOffsets;       // each tensor's place in _small, or -1 when summed in place
    private readonly float[] _small;
    private readonly int _tensorsPerLayer, _layers;
    private int _announced;

    private InPlaceBuckets(Memory<float>[] tensors, int layers)
    {
        _tensors = tensors;
        _layers = layers;
        _tensorsPerLayer = tensors.Length / layers;
        _smallOffsets = new int[tensors.Length];
        int small = 0;
        for (int t = 0; t < tensors.Length; t++)
        {
            _smallOffsets[t] = tensors[t].Length >= InPlaceElements ? -1 : small;
            if (_smallOffsets[t] >= 0) small += tensors[t].Length;
        }
        _small = new float[small];
    }

    /// <summary>The buckets of <paramref name="model"/>'s gradients, or null when a tensor's memory is not the host's.</summary>
    public static InPlaceBuckets? TryCreate(Mlp model)
    {
        var gradients = model.GradientTensors;
        var memory = new Memory<float>[gradients.Count];
        for (int t = 0; t < memory.Length; t++)
            if (!gradients[t].TryGetHostMemory(out memory[t])) return null;
        return new InPlaceBuckets(memory, model.Layout.LayerCount);
    }

    /// <summary>Number of collectives a step runs (the large tensors', and the small vector's if any).</summary>
    public int CollectivesPerStep => _smallOffsets.Count(o => o < 0) + (_small.Length > 0 ? 1 : 0);

    public void BeginStep() => _announced = 0;

    /// <summary>
    /// Layer <paramref name="layer"/>'s gradients are ready: its large tensors' sums start (or run, when
    /// <paramref name="sum"/> blocks), its small ones are copied aside; once every layer was announced, the small vector's
    /// sum starts too. Every rank announces the layers in the same order, so the collectives match.
    /// </summary>
    public void LayerReady(int layer, Action<Memory<float>> sum)
    {
        if ((uint)layer >= (uint)_layers)
            throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is not one of the model's {_layers} layers");
        for (int t = layer * _tensorsPerLayer; t < (layer + 1) * _tensorsPerLayer; t++)
        {
            if (_smallOffsets[t] < 0) sum(_tensors[t]);
            else _tensors[t].Span.CopyTo(_small.AsSpan(_smallOffsets[t]));
        }
        if (++_announced == _layers && _small.Length > 0) sum(_small);
    }

    /// <summary>After every sum has finished: the small tensors get their sums back.</summary>
    public void EndStep()
    {
        if (_announced != _layers)
            throw new TrainingException($"the backward pass announced {_announced} of the model's {_layers} layers' gradients before the step ended");
        for (int t = 0; t < _tensors.Length; t++)
            if (_smallOffsets[t] >= 0) _small.AsSpan(_smallOffsets[t], _tensors[t].Length).CopyTo(_tensors[t].Span);
    }
}
