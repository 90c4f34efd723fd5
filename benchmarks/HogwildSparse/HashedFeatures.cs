namespace AllReduceNet.Benchmarks.HogwildSparse;

/// <summary>
/// Sparse examples in compressed-row form: example e has the non-zeros <c>Slots[Offsets[e]..Offsets[e+1]]</c> (indices
/// of hashed feature slots) with the values <c>Values[...]</c>, and the class <c>Labels[e]</c>.
/// </summary>
internal sealed class HashedFeatures
{
    public HashedFeatures(int[] offsets, int[] slots, float[] values, int[] labels, int slotCount)
    {
        if (offsets.Length != labels.Length + 1)
            throw new ArgumentException($"offsets holds {offsets.Length} entries, but {labels.Length} examples need {labels.Length + 1}.", nameof(offsets));
        if (slots.Length != values.Length || offsets[^1] != slots.Length)
            throw new ArgumentException($"slots ({slots.Length}), values ({values.Length}) and the last offset ({offsets[^1]}) must agree.", nameof(slots));
        Offsets = offsets;
        Slots = slots;
        Values = values;
        Labels = labels;
        SlotCount = slotCount;
    }

    public int[] Offsets { get; }
    public int[] Slots { get; }
    public float[] Values { get; }
    public int[] Labels { get; }

    /// <summary>Size of the hashed feature space (2^bits).</summary>
    public int SlotCount { get; }

    public int Count => Labels.Length;

    public ReadOnlySpan<int> SlotsOf(int example) => Slots.AsSpan(Offsets[example], Offsets[example + 1] - Offsets[example]);

    public ReadOnlySpan<float> ValuesOf(int example) => Values.AsSpan(Offsets[example], Offsets[example + 1] - Offsets[example]);

    public double MeanNonZeros => Count == 0 ? 0 : (double)Slots.Length / Count;
}
