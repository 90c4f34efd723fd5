namespace AllReduceNet.Benchmarks.HogwildSparse;

/// <summary>
/// Turns a 28 x 28 grey image (pixels in [0, 1]) into sparse hashed features, as Vowpal Wabbit-style linear models do:
/// <list type="bullet">
/// <item>one feature per non-blank pixel and its intensity bucket (<see cref="IntensityBuckets"/> levels): "pixel 300 is dark";</item>
/// <item>one per pair of horizontally or vertically adjacent non-blank cells of the image pooled 2 x 2 (14 x 14), with both
/// cells' buckets: a co-occurrence, which a linear model cannot build from single pixels;</item>
/// <item>a bias feature present in every example.</item>
/// </list>
/// Each feature's key is hashed into <c>2^bits</c> slots with a sign taken from the same hash (signed hashing keeps
/// collisions unbiased), and the values are scaled so that every example has unit L2 norm, which keeps one SGD step
/// size right whatever the number of non-zeros. Blank pixels give no feature: that is what makes the examples sparse
/// (a few hundred non-zeros of 2^18), the regime of Niu et al. 2011.
/// </summary>
internal sealed class FeatureHasher
{
    public const int Side = 28;
    public const int IntensityBuckets = 4;
    private const int Pool = 2;
    private const int PooledSide = Side / Pool;

    // Kinds of feature, part of the key so that equal numbers from different kinds do not meet before hashing.
    private const ulong KindBias = 0, KindIntensity = 1, KindHorizontalPair = 2, KindVerticalPair = 3;

    public FeatureHasher(int bits)
    {
        if (bits is < 4 or > 26)
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "hash bits must be between 4 and 26 (2^bits feature slots).");
        Bits = bits;
    }

    public int Bits { get; }

    public int SlotCount => 1 << Bits;

    /// <summary>Bucket of a pixel value in [0, 1]: 0 for blank (exactly 0), 1..IntensityBuckets otherwise.</summary>
    public static int Bucket(float value)
    {
        if (!(value > 0)) return 0;
        return Math.Min(IntensityBuckets, 1 + (int)(value * IntensityBuckets));
    }

    /// <summary>Hashes every image of <paramref name="pixels"/> (row-major, 784 floats per image).</summary>
    public HashedFeatures Hash(float[] pixels, int[] labels)
    {
        if (pixels.Length != (long)labels.Length * Side * Side)
            throw new ArgumentException($"pixels holds {pixels.Length} floats, but {labels.Length} images of {Side}x{Side} need {(long)labels.Length * Side * Side}.", nameof(pixels));
        var offsets = new int[labels.Length + 1];
        var slots = new List<int>(labels.Length * 400);
        var values = new List<float>(labels.Length * 400);
        var exampleSlots = new List<int>(1024);
        var exampleSigns = new List<float>(1024);
        for (int e = 0; e < labels.Length; e++)
        {
            exampleSlots.Clear();
            exampleSigns.Clear();
            AddFeatures(pixels.AsSpan(e * Side * Side, Side * Side), exampleSlots, exampleSigns);
            float scale = 1 / MathF.Sqrt(exampleSlots.Count);
            slots.AddRange(exampleSlots);
            foreach (float sign in exampleSigns) values.Add(sign * scale);
            offsets[e + 1] = slots.Count;
        }
        return new HashedFeatures(offsets, [.. slots], [.. values], labels, SlotCount);
    }

    /// <summary>Appends the slot and sign of every feature of one image.</summary>
    public void AddFeatures(ReadOnlySpan<float> image, List<int> slots, List<float> signs)
    {
        if (image.Length != Side * Side)
            throw new ArgumentException($"an image has {Side * Side} pixels, not {image.Length}.", nameof(image));
        Add(Key(KindBias, 0, 0, 0), slots, signs);
        for (int p = 0; p < image.Length; p++)
        {
            int bucket = Bucket(image[p]);
            if (bucket != 0) Add(Key(KindIntensity, (ulong)p, (ulong)bucket, 0), slots, signs);
        }
        Span<int> pooled = stackalloc int[PooledSide * PooledSide];
        for (int r = 0; r < PooledSide; r++)
            for (int c = 0; c < PooledSide; c++)
            {
                int top = r * Pool * Side + c * Pool;
                float mean = (image[top] + image[top + 1] + image[top + Side] + image[top + Side + 1]) / (Pool * Pool);
                pooled[r * PooledSide + c] = Bucket(mean);
            }
        for (int r = 0; r < PooledSide; r++)
            for (int c = 0; c < PooledSide; c++)
            {
                int cell = r * PooledSide + c, here = pooled[cell];
                if (here == 0) continue;
                if (c + 1 < PooledSide && pooled[cell + 1] != 0)
                    Add(Key(KindHorizontalPair, (ulong)cell, (ulong)here, (ulong)pooled[cell + 1]), slots, signs);
                if (r + 1 < PooledSide && pooled[cell + PooledSide] != 0)
                    Add(Key(KindVerticalPair, (ulong)cell, (ulong)here, (ulong)pooled[cell + PooledSide]), slots, signs);
            }
    }

    private static ulong Key(ulong kind, ulong position, ulong first, ulong second) =>
        kind << 56 | position << 16 | first << 8 | second;

    private void Add(ulong key, List<int> slots, List<float> signs)
    {
        ulong hash = Mix(key);
        slots.Add((int)(hash >> (64 - Bits)));
        // The lowest bit is independent of the top bits that chose the slot.
        signs.Add((hash & 1) == 0 ? 1f : -1f);
    }

    /// <summary>SplitMix64's finalizer: a fixed, well-mixed 64-bit hash (string.GetHashCode is randomized per process).</summary>
    internal static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
