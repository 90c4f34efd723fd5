namespace AllReduceNet.Training.Compression;

/// <summary>
/// Sums one gradient bucket (a layer's weights, row-major inputs x outputs, then its bias) over the ranks in a
/// compressed wire format. Collective: every rank calls <see cref="Sum"/> for the same layers in the same order.
/// Every rank ends with bitwise the same bucket, so the replicas' optimizer steps stay identical.
/// </summary>
internal interface IGradientCompressor
{
    /// <summary>Replaces <paramref name="bucket"/> (this rank's gradient of layer <paramref name="layer"/>) with the
    /// ranks' (approximate) sum.</summary>
    void Sum(int layer, Span<float> bucket);

    /// <summary>Bytes this rank has sent so far (see <see cref="WireBytes"/> for how collectives are counted).</summary>
    long BytesSent { get; }

    /// <summary>One line for the run's description: the format and what is kept between steps.</summary>
    string Describe();
}
