namespace AllReduceNet.Training.Compression;

/// <summary>
/// Picks the k entries of largest magnitude, exactly, in O(n). As Deep Gradient Compression does, a strided sample
/// first estimates a threshold that a little more than k entries pass; one pass gathers those candidates, and a
/// quickselect among them alone finds the exact k-th largest magnitude t (when the estimate let fewer than k through,
/// the quickselect runs over all entries instead). A last pass takes every entry above t and, in index order, as
/// many entries equal to t as fill k, so ties are broken the same way on every run. NaN counts as larger than
/// everything, so a diverging gradient is sent, not hidden.
/// </summary>
internal static class TopKSelection
{
    private const int SampleSize = 1024;

    /// <summary>Writes the indices of the <paramref name="k"/> largest-magnitude entries of <paramref name="values"/>
    /// into <paramref name="indices"/>, ascending; <paramref name="scratch"/> holds at least values.Length floats.</summary>
    public static void Select(ReadOnlySpan<float> values, int k, Span<int> indices, Span<float> scratch)
    {
        int n = values.Length;
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"top-k needs 1 <= k <= {n}.");
        float threshold = ExactThreshold(values, k, scratch[..n]);
        int above = 0;
        for (int i = 0; i < n; i++) if (Magnitude(values[i]) > threshold) above++;
        int tiesWanted = k - above, taken = 0;
        for (int i = 0; i < n && taken < k; i++)
        {
            float m = Magnitude(values[i]);
            if (m > threshold) indices[taken++] = i;
            else if (m == threshold && tiesWanted > 0) { indices[taken++] = i; tiesWanted--; }
        }
    }

    /// <summary>The k-th largest magnitude of <paramref name="values"/>.</summary>
    private static float ExactThreshold(ReadOnlySpan<float> values, int k, Span<float> scratch)
    {
        int n = values.Length;
        if (n > 4 * SampleSize && k < n / 8)
        {
            // Estimate: the sample's magnitude at twice the wanted fraction (a margin), then keep what passes it.
            int stride = n / SampleSize;
            var sample = scratch[..SampleSize];
            for (int s = 0; s < SampleSize; s++) sample[s] = Magnitude(values[s * stride]);
            int sampleRank = Math.Clamp((int)Math.Ceiling(2.0 * k * SampleSize / n), 1, SampleSize);
            float estimate = KthLargest(sample, sampleRank);
            int candidates = 0;
            for (int i = 0; i < n; i++)
            {
                float m = Magnitude(values[i]);
                if (m >= estimate) scratch[candidates++] = m;
            }
            if (candidates >= k) return KthLargest(scratch[..candidates], k);
        }
        for (int i = 0; i < n; i++) scratch[i] = Magnitude(values[i]);
        return KthLargest(scratch[..n], k);
    }

    private static float Magnitude(float value) => float.IsNaN(value) ? float.PositiveInfinity : MathF.Abs(value);

    /// <summary>The k-th largest of <paramref name="items"/> (reordered in place): Hoare quickselect, median-of-three pivot.</summary>
    private static float KthLargest(Span<float> items, int k)
    {
        // The k-th largest is the (n - k)-th smallest.
        int target = items.Length - k, lo = 0, hi = items.Length - 1;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (items[mid] < items[lo]) (items[mid], items[lo]) = (items[lo], items[mid]);
            if (items[hi] < items[lo]) (items[hi], items[lo]) = (items[lo], items[hi]);
            if (items[hi] < items[mid]) (items[hi], items[mid]) = (items[mid], items[hi]);
            float pivot = items[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (items[i] < pivot) i++;
                while (items[j] > pivot) j--;
                if (i <= j) { (items[i], items[j]) = (items[j], items[i]); i++; j--; }
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return items[target];
        }
        return items[target];
    }
}
