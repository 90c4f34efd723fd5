using AllReduceNet.Kernels;
using AllReduceNet.Privacy;
using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// The --secure-aggregation options of a federated run, and how they become the protocol's
/// <see cref="SecureAggregationSettings"/> once the client datasets (hence the largest weight n_k) are known.
/// <para>
/// What is quantized is the client's vector <c>[n_k clip(Δ_k, ±C), n_k]</c>: each element of the delta is clipped to
/// [-C, C] before it is weighted, so every weighted element lies within ±n_k C and the weight within n_k. One
/// fixed-point format covers both: clip range R = max_k n_k · max(C, 1). Clipping the elements (not the norm) keeps
/// the bound per element, which is what the modulus needs, and with C = 1 it never bites for this model's deltas.
/// </para>
/// </summary>
/// <param name="Neighbors">SecAgg+'s k (even; an odd k is rounded up), or null for full SecAgg (--secagg-neighbors 0).</param>
/// <param name="Threshold">t, or null for the smallest secure one: half the share group (K, or k + 1) plus one.</param>
/// <param name="DeltaClip">C: each element of a client's delta is clipped to [-C, C] before weighting.</param>
/// <param name="FractionalBits">Fixed-point bits after the binary point, or null for the finest that cannot overflow.</param>
/// <param name="UnmaskDropout">Probability that a client whose masked input was sent drops before the unmasking stage.</param>
internal sealed record SecureAggregationOptions(int? Neighbors, int? Threshold, float DeltaClip, int? FractionalBits, double UnmaskDropout)
{
    /// <summary>The default of --secagg-clip.</summary>
    public const float DefaultDeltaClip = 1f;

    /// <summary>For the log, e.g. "secure aggregation SecAgg+ k 16".</summary>
    public string Describe() => FormattableString.Invariant(
        $"secure aggregation {(Neighbors is int k ? $"SecAgg+ k {k}" : "full SecAgg")}{(Threshold is int t ? $" t {t}" : "")}, clip {DeltaClip}{(FractionalBits is int f ? $", bits {f}" : "")}{(UnmaskDropout > 0 ? FormattableString.Invariant($", unmask dropout {UnmaskDropout}") : "")}");

    /// <summary>The threshold of a round of <paramref name="clientsPerRound"/> clients: the given one, or the smallest secure one.</summary>
    public int ThresholdFor(int clientsPerRound) => Threshold ?? GroupSize(clientsPerRound) / 2 + 1;

    /// <summary>How many clients hold shares of each secret: k + 1 with SecAgg+ (k rounded up to even), else all of the round's clients.</summary>
    public int GroupSize(int clientsPerRound) =>
        Neighbors is int k && k + (k & 1) + 1 < clientsPerRound ? k + (k & 1) + 1 : clientsPerRound;

    /// <summary>
    /// The protocol's settings for rounds of <paramref name="clientsPerRound"/> clients whose largest weight (sample
    /// count) is <paramref name="maxClientSamples"/>.
    /// </summary>
    /// <exception cref="TrainingException">The sum could overflow the modulus 2^32 (names the clients, the range and the bits), or the threshold does not fit.</exception>
    public SecureAggregationSettings CreateSettings(int clientsPerRound, int maxClientSamples, int vectorLength)
    {
        float range = ClipRange(maxClientSamples);
        FixedPointFormat format;
        try
        {
            format = FractionalBits is int bits ? new FixedPointFormat(bits, range, clientsPerRound) : FixedPointFormat.ForClients(range, clientsPerRound);
        }
        catch (ArgumentOutOfRangeException)
        {
            double worst = clientsPerRound * ((double)range * Math.Pow(2, FractionalBits ?? 0) + 0.5);
            throw new TrainingException(FormattableString.Invariant(
                $"--secure-aggregation: {clientsPerRound} clients per round x (clip range {range} x 2^{FractionalBits ?? 0} + 1/2) = {worst} exceeds 2^31 - 1, so the masked sum could overflow the modulus 2^32 (clip range = largest client's {maxClientSamples} samples x max(--secagg-clip {DeltaClip}, 1)). ") +
                (FractionalBits is not null && SafeBits(clientsPerRound, range) is int safe ? $"Use --secagg-bits {safe} or fewer." : "Lower --secagg-clip or --clients-per-round."));
        }
        int threshold = ThresholdFor(clientsPerRound);
        try
        {
            var settings = new SecureAggregationSettings(vectorLength, threshold, format, Neighbors);
            settings.CheckRound(clientsPerRound);
            return settings;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or PrivacyException)
        {
            throw new TrainingException($"--secagg-threshold {threshold} does not fit rounds of {clientsPerRound} clients: {e.Message}");
        }
    }

    /// <summary>R = max n_k · max(C, 1): covers every weighted delta element and the weight itself.</summary>
    public float ClipRange(int maxClientSamples) => maxClientSamples * Math.Max(DeltaClip, 1f);

    private static int? SafeBits(int clients, float range)
    {
        try { return FixedPointFormat.ForClients(range, clients).FractionalBits; }
        catch (ArgumentOutOfRangeException) { return null; }
    }
}
