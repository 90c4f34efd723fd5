namespace AllReduceNet.Kernels;

/// <summary>
/// The fixed-point format of masked aggregation. A float x becomes the 32-bit integer
/// <c>q = floor(clamp(x, -ClipRange, ClipRange) * Scale + 1/2)</c> with <c>Scale = 2^FractionalBits</c>; masks and sums
/// are then added modulo 2^32 (wrap-around), so +mask and -mask cancel exactly whatever they are.
/// <para>
/// No overflow: each |q| is at most ClipRange * Scale + 1/2, so the true sum over MaxClients clients stays within
/// MaxClients * (ClipRange * Scale + 1/2) &lt;= 2^31 - 1 (checked by the constructor); the wrapped sum therefore equals
/// the true sum of the quantized values exactly, and dequantization (sum / Scale) recovers it.
/// </para>
/// <para>
/// Error bound: rounding x*Scale is exact (Scale is a power of two) up to the final rounding to an integer, so each
/// client adds at most 1/(2 Scale) of error per element; for n clients
/// |dequantized sum - sum of clipped inputs| &lt;= n / (2 Scale) (see <see cref="SumErrorBound"/>), plus the float
/// rounding of the result itself (half an ulp of the output). Inputs outside [-ClipRange, ClipRange] are clipped first,
/// which is not counted in this bound.
/// </para>
/// </summary>
public readonly struct FixedPointFormat
{
    /// <summary>Creates a format.</summary>
    /// <param name="fractionalBits">Bits after the binary point, 0..30; Scale = 2^fractionalBits.</param>
    /// <param name="clipRange">Inputs are clamped to [-clipRange, clipRange]; finite and positive.</param>
    /// <param name="maxClients">Largest number of clients whose sum must not overflow; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range, or maxClients * (clipRange * 2^fractionalBits + 1/2) exceeds 2^31 - 1.</exception>
    public FixedPointFormat(int fractionalBits, float clipRange, int maxClients)
    {
        ThrowHelper.ThrowIfOutside(fractionalBits, 0, 30);
        ThrowHelper.ThrowIfNotPositiveFinite(clipRange);
        ThrowHelper.ThrowIfNotPositive(maxClients);
        double worst = maxClients * ((double)clipRange * Math.Pow(2, fractionalBits) + 0.5);
        if (worst > int.MaxValue)
            ThrowHelper.ThrowOutOfRange(nameof(clipRange), clipRange,
                $"maxClients * (clipRange * 2^fractionalBits + 1/2) = {maxClients} * ({clipRange} * 2^{fractionalBits} + 0.5) = {worst} exceeds 2^31 - 1: the masked sum could overflow. Lower clipRange or fractionalBits.");
        FractionalBits = fractionalBits;
        ClipRange = clipRange;
        MaxClients = maxClients;
    }

    /// <summary>A format for up to <paramref name="maxClients"/> clients with inputs in [-<paramref name="clipRange"/>, <paramref name="clipRange"/>],
    /// with the most fractional bits that cannot overflow.</summary>
    /// <param name="clipRange">Clipping range, finite and positive.</param>
    /// <param name="maxClients">Largest number of clients, at least 1.</param>
    /// <returns>The finest safe format.</returns>
    /// <exception cref="ArgumentOutOfRangeException">No format with at least 0 fractional bits is safe.</exception>
    public static FixedPointFormat ForClients(float clipRange, int maxClients)
    {
        ThrowHelper.ThrowIfNotPositiveFinite(clipRange);
        ThrowHelper.ThrowIfNotPositive(maxClients);
        for (int bits = 30; bits > 0; bits--)
        {
            if (maxClients * ((double)clipRange * Math.Pow(2, bits) + 0.5) <= int.MaxValue)
                return new FixedPointFormat(bits, clipRange, maxClients);
        }
        return new FixedPointFormat(0, clipRange, maxClients);
    }

    /// <summary>Bits after the binary point.</summary>
    public int FractionalBits { get; }

    /// <summary>2^FractionalBits: one unit of the float value is this many integer steps.</summary>
    public float Scale => MathF.ScaleB(1f, FractionalBits);

    /// <summary>Inputs are clamped to [-ClipRange, ClipRange].</summary>
    public float ClipRange { get; }

    /// <summary>Largest number of clients that the overflow check covered.</summary>
    public int MaxClients { get; }

    /// <summary>Bound on |dequantized sum - exact sum of clipped inputs| for <paramref name="clients"/> clients, before the output's own float rounding: clients / (2 Scale).</summary>
    /// <param name="clients">Number of summed clients, 1..MaxClients.</param>
    /// <returns>The bound.</returns>
    /// <exception cref="ArgumentOutOfRangeException">clients is outside 1..MaxClients.</exception>
    public double SumErrorBound(int clients)
    {
        ThrowHelper.ThrowIfOutside(clients, 1, MaxClients);
        return clients * 0.5 / Math.Pow(2, FractionalBits);
    }

    /// <summary>Throws when the format was default-constructed.</summary>
    internal void Validate()
    {
        if (!(ClipRange > 0f) || MaxClients < 1)
            ThrowHelper.ThrowArgument("format", "format is default-constructed; create it with its constructor or FixedPointFormat.ForClients.");
    }
}
