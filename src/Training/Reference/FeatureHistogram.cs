using System.Text.Json.Serialization;

namespace AllReduceNet.Training.Reference;

/// <summary>
/// The distribution of one value (an input feature, or a prediction's confidence) as counts in <see cref="Counts"/>.Length
/// equal-width bins between <see cref="Low"/> and <see cref="High"/>, the smallest and largest reference values. A
/// current sample is binned the same way, with two more cells for values below <see cref="Low"/> and above
/// <see cref="High"/> (the reference has none there by construction), so drift tests compare cell by cell.
/// </summary>
/// <param name="Low">The smallest reference value: the left edge of the first bin.</param>
/// <param name="High">The largest reference value: the right edge of the last bin (equal to <paramref name="Low"/> for a constant feature).</param>
/// <param name="Counts">Reference values per bin.</param>
public sealed record FeatureHistogram(
    [property: JsonPropertyName("low")] float Low,
    [property: JsonPropertyName("high")] float High,
    [property: JsonPropertyName("counts")] long[] Counts)
{
    /// <summary>Reference values counted.</summary>
    [JsonIgnore] public long Total => Counts.Sum();

    /// <summary>Width of one bin (0 for a constant feature).</summary>
    [JsonIgnore] public double BinWidth => ((double)High - Low) / Counts.Length;

    /// <summary>The cell of <paramref name="value"/> among <c>Counts.Length + 2</c>: 0 below <see cref="Low"/>, 1..bins
    /// for the bins, bins + 1 above <see cref="High"/>. NaN counts as above, so that it is seen as drift, never dropped.</summary>
    /// <param name="value">The value to place.</param>
    /// <returns>The cell index.</returns>
    public int Cell(float value)
    {
        int bins = Counts.Length;
        if (value < Low) return 0;
        if (!(value <= High)) return bins + 1;
        if (High == Low) return 1;
        return 1 + Math.Min((int)((value - (double)Low) / ((double)High - Low) * bins), bins - 1);
    }

    /// <summary>Builds the histogram of every <paramref name="stride"/>-th value of <paramref name="values"/> starting at <paramref name="offset"/>
    /// (one feature of row-major rows).</summary>
    /// <param name="values">The values (rows x stride).</param>
    /// <param name="offset">The feature's column.</param>
    /// <param name="stride">The row length.</param>
    /// <param name="bins">Number of bins, at least 1.</param>
    /// <returns>The histogram.</returns>
    /// <exception cref="ArgumentException">No values, a non-finite value, or fewer than one bin.</exception>
    public static FeatureHistogram Build(ReadOnlySpan<float> values, int offset, int stride, int bins)
    {
        if (bins < 1) throw new ArgumentException($"a histogram needs at least one bin, not {bins}.", nameof(bins));
        if (offset >= values.Length) throw new ArgumentException("a histogram needs at least one value.", nameof(values));
        float low = float.PositiveInfinity, high = float.NegativeInfinity;
        for (int i = offset; i < values.Length; i += stride)
        {
            float v = values[i];
            if (!float.IsFinite(v)) throw new ArgumentException($"value {v} at index {i} is not finite.", nameof(values));
            low = Math.Min(low, v);
            high = Math.Max(high, v);
        }
        var histogram = new FeatureHistogram(low, high, new long[bins]);
        for (int i = offset; i < values.Length; i += stride) histogram.Counts[histogram.Cell(values[i]) - 1]++;
        return histogram;
    }
}
