using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// What every client and the server of a secure aggregation agree on before a round: the vector length, the
/// fixed-point format (clipping range, fractional bits, and the number of clients whose sum cannot overflow 2^32),
/// the Shamir threshold t, SecAgg+'s neighbour count k, and the optional PKI. See docs/secure-aggregation.md.
/// </summary>
public sealed class SecureAggregationSettings
{
    /// <summary>Creates and checks the settings.</summary>
    /// <param name="vectorLength">Elements of each client's input, at least 1.</param>
    /// <param name="threshold">
    /// t: shares needed to reconstruct a client's secrets, and the fewest clients that may survive any stage. With full
    /// SecAgg it counts over all sampled clients; with SecAgg+ over a client's neighbourhood (k neighbours plus itself).
    /// It must exceed half of that group (otherwise a server that lies about who dropped could collect both a client's
    /// self-mask and its mask key and unmask it alone) and be at most the group's size.
    /// </param>
    /// <param name="format">The fixed-point format; its MaxClients bounds the number of sampled clients (no overflow).</param>
    /// <param name="neighbors">SecAgg+: each client masks with and shares to k neighbours of a random k-regular graph;
    /// k is even (an odd k is rounded up) and at least 2. Null: full SecAgg, every client with every other.</param>
    /// <param name="verificationKeys">PKI: each client id's ECDSA P-256 public key (SubjectPublicKeyInfo). When set, key
    /// advertisements must be signed with the matching private key, and clients and server refuse unsigned or
    /// mis-signed keys. Null: no signatures (honest-but-curious server model).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    /// <exception cref="ArgumentException">The format is default-constructed.</exception>
    public SecureAggregationSettings(int vectorLength, int threshold, FixedPointFormat format, int? neighbors = null, IReadOnlyDictionary<int, byte[]>? verificationKeys = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vectorLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 2);
        if (!(format.ClipRange > 0f) || format.MaxClients < 1)
            throw new ArgumentException("format is default-constructed; create it with its constructor or FixedPointFormat.ForClients.", nameof(format));
        if (neighbors is int k)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(k, 2, nameof(neighbors));
            neighbors = k + (k & 1);
            if (threshold > neighbors + 1)
                throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"threshold {threshold} exceeds the neighbourhood of {neighbors} neighbours plus the client itself: secrets could never be reconstructed.");
            if (2 * threshold <= neighbors + 1)
                throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"threshold {threshold} is not more than half of the neighbourhood ({neighbors} + 1): a lying server could unmask a client.");
        }
        VectorLength = vectorLength;
        Threshold = threshold;
        Format = format;
        Neighbors = neighbors;
        VerificationKeys = verificationKeys;
        QuantizedBound = (uint)Math.Floor((double)format.ClipRange * format.Scale + 0.5);
    }

    /// <summary>Elements of each client's input.</summary>
    public int VectorLength { get; }

    /// <summary>t, the Shamir threshold and the fewest survivors of any stage.</summary>
    public int Threshold { get; }

    /// <summary>The fixed-point format of the inputs.</summary>
    public FixedPointFormat Format { get; }

    /// <summary>SecAgg+'s k (even), or null for full SecAgg.</summary>
    public int? Neighbors { get; }

    /// <summary>The PKI (client id to ECDSA public key, SubjectPublicKeyInfo), or null.</summary>
    public IReadOnlyDictionary<int, byte[]>? VerificationKeys { get; }

    /// <summary>
    /// The largest |q| of a quantized input element: floor(ClipRange * Scale + 1/2). Clients refuse inputs beyond it, so
    /// the sum of at most Format.MaxClients inputs stays below 2^31 in magnitude and the wrapped sum is exact.
    /// </summary>
    public uint QuantizedBound { get; }

    /// <summary>
    /// Checks a round of <paramref name="sampledClients"/> clients against these settings.
    /// </summary>
    /// <param name="sampledClients">Clients sampled for the round.</param>
    /// <exception cref="PrivacyException">More clients than the format's MaxClients (the sum could overflow the modulus
    /// 2^32), or, with full SecAgg, a threshold that is not more than half of them or exceeds them.</exception>
    public void CheckRound(int sampledClients)
    {
        if (sampledClients > Format.MaxClients)
            throw new PrivacyException($"{sampledClients} clients exceed the fixed-point format's MaxClients = {Format.MaxClients}: the sum of inputs clipped to ±{Format.ClipRange} at 2^{Format.FractionalBits} steps per unit could overflow the modulus 2^32. Use FixedPointFormat.ForClients({Format.ClipRange}, {sampledClients}) or fewer fractional bits.");
        int group = Neighbors is int k && k + 1 < sampledClients ? k + 1 : sampledClients;
        if (Threshold > group)
            throw new PrivacyException($"threshold {Threshold} exceeds the {group} clients that hold shares of each secret: the round could never complete.");
        if (2 * Threshold <= group)
            throw new PrivacyException($"threshold {Threshold} is not more than half of the {group} share holders: a lying server could unmask a client. Use at least {group / 2 + 1}.");
    }

    /// <summary>The share group of each client for <paramref name="sampledClients"/> clients (k + 1, or all clients).</summary>
    internal int GroupSize(int sampledClients) => Neighbors is int k && k + 1 < sampledClients ? k + 1 : sampledClients;
}
