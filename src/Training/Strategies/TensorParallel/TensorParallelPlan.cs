using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Strategies.TensorParallel;

/// <summary>
/// Which part of every layer one rank holds under --strategy tensor, and where its parameters sit in the flat
/// parameter vector (<see cref="ParameterLayout"/> order). Layers pair up as in Megatron-LM's MLP: layer 0 is split by
/// output columns, layer 1 by input rows (the same ranges, so each rank feeds its own columns into its own rows),
/// layer 2 by columns again, and so on; an unpaired last layer is replicated. Rank r holds columns
/// <see cref="EpochSampler.ShardRange"/>(width, r, ranks) of each pair's middle width.
/// <para>
/// The rank's local tensors are, per layer, its weights (row-major, local in x local out) then its bias: the order of
/// <see cref="TensorParallelModel.ParameterTensors"/>. Concatenated, they form the rank's local vector, which
/// <see cref="Scatter"/> fills from a full vector and <see cref="Place"/> writes back into one. Replicated tensors
/// (row layers' biases, the last layer when replicated) are written back by rank 0 only, so a sum over the ranks
/// of what each placed into a zero vector is the full vector, bitwise.
/// </para>
/// </summary>
internal sealed class TensorParallelPlan
{
    private readonly List<Run> _runs = [];

    /// <summary>A contiguous piece of the local vector and where it sits in the full one.</summary>
    private readonly record struct Run(int Full, int Local, int Length, bool Owned);

    /// <param name="sizes">The model's layer widths (--layers).</param>
    /// <param name="rank">This rank.</param>
    /// <param name="ranks">The ranks that share every layer.</param>
    /// <exception cref="ArgumentException">A split layer is narrower than the rank count.</exception>
    public TensorParallelPlan(IReadOnlyList<int> sizes, int rank, int ranks)
    {
        var layout = new ParameterLayout(sizes);
        Rank = rank;
        Ranks = ranks;
        int layers = layout.LayerCount;
        Roles = new TensorLayerRole[layers];
        LocalIn = new int[layers];
        LocalOut = new int[layers];
        int local = 0;
        for (int l = 0; l < layers; l++)
        {
            int inFeatures = sizes[l], outFeatures = sizes[l + 1], offset = layout.LayerOffset(l);
            int weights = layout.WeightCount(l);
            Roles[l] = l % 2 == 1 ? TensorLayerRole.Row : l == layers - 1 ? TensorLayerRole.Replicated : TensorLayerRole.Column;
            switch (Roles[l])
            {
                case TensorLayerRole.Column:
                {
                    if (outFeatures < ranks)
                        throw new ArgumentException($"layer {l} has {outFeatures} outputs, fewer than the {ranks} ranks that split them; use fewer ranks or wider --layers.", nameof(sizes));
                    var (start, count) = EpochSampler.ShardRange(outFeatures, rank, ranks);
                    (LocalIn[l], LocalOut[l]) = (inFeatures, count);
                    for (int i = 0; i < inFeatures; i++) Add(offset + i * outFeatures + start, count, owned: true, ref local);
                    Add(offset + weights + start, count, owned: true, ref local);
                    break;
                }
                case TensorLayerRole.Row:
                {
                    var (start, count) = EpochSampler.ShardRange(inFeatures, rank, ranks);
                    (LocalIn[l], LocalOut[l]) = (count, outFeatures);
                    Add(offset + start * outFeatures, count * outFeatures, owned: true, ref local);
                    Add(offset + weights, outFeatures, owned: rank == 0, ref local);
                    break;
                }
                default:
                    (LocalIn[l], LocalOut[l]) = (inFeatures, outFeatures);
                    Add(offset, weights, owned: rank == 0, ref local);
                    Add(offset + weights, outFeatures, owned: rank == 0, ref local);
                    break;
            }
        }
        LocalCount = local;
        FullCount = layout.Count;
    }

    private void Add(int full, int length, bool owned, ref int local)
    {
        _runs.Add(new Run(full, local, length, owned));
        local += length;
    }

    public int Rank { get; }
    public int Ranks { get; }

    /// <summary>Each layer's role.</summary>
    public TensorLayerRole[] Roles { get; }

    /// <summary>Each layer's input width on this rank (a row layer's share of rows, else the full width).</summary>
    public int[] LocalIn { get; }

    /// <summary>Each layer's output width on this rank (a column layer's share of columns, else the full width).</summary>
    public int[] LocalOut { get; }

    /// <summary>Parameters this rank holds (its local vector's length).</summary>
    public int LocalCount { get; }

    /// <summary>Parameters of the whole model.</summary>
    public int FullCount { get; }

    /// <summary>Copies this rank's parameters out of the full vector <paramref name="full"/> into <paramref name="local"/>.</summary>
    public void Scatter(ReadOnlySpan<float> full, Span<float> local)
    {
        Check(full.Length, local.Length);
        foreach (var run in _runs) full.Slice(run.Full, run.Length).CopyTo(local.Slice(run.Local, run.Length));
    }

    /// <summary>Writes the parameters this rank owns from <paramref name="local"/> into <paramref name="full"/>; the rest of
    /// <paramref name="full"/> is left as it is.</summary>
    public void Place(ReadOnlySpan<float> local, Span<float> full)
    {
        Check(full.Length, local.Length);
        foreach (var run in _runs)
            if (run.Owned) local.Slice(run.Local, run.Length).CopyTo(full.Slice(run.Full, run.Length));
    }

    private void Check(int full, int local)
    {
        if (full != FullCount) throw new ArgumentException($"the full vector has {full} parameters; the model has {FullCount}.");
        if (local != LocalCount) throw new ArgumentException($"the local vector has {local} parameters; rank {Rank} holds {LocalCount}.");
    }

    /// <summary>One line per layer for the report, e.g. "layer 0 784x256 by columns: 784x128 here".</summary>
    public IEnumerable<string> DescribeLayers(IReadOnlyList<int> sizes) =>
        Roles.Select((role, l) => $"layer {l} {sizes[l]}x{sizes[l + 1]} " + role switch
        {
            TensorLayerRole.Column => $"split by output columns: {LocalIn[l]}x{LocalOut[l]} on rank {Rank}",
            TensorLayerRole.Row => $"split by input rows: {LocalIn[l]}x{LocalOut[l]} on rank {Rank}, one AllReduce of its output",
            _ => "replicated on every rank",
        });
}
