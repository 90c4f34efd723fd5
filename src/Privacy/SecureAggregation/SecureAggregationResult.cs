using AllReduceNet.Kernels;

namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>The outcome of a completed round: the sum of the survivors' quantized inputs, exact modulo 2^32.</summary>
public sealed class SecureAggregationResult
{
    internal SecureAggregationResult(int round, uint[] sum, int[] survivors, FixedPointFormat format)
    {
        Round = round;
        Sum = sum;
        Survivors = survivors;
        Format = format;
    }

    /// <summary>The round number.</summary>
    public int Round { get; }

    /// <summary>Sum over <see cref="Survivors"/> of their quantized inputs, modulo 2^32 (two's complement: cast to int for the signed sum).</summary>
    public uint[] Sum { get; }

    /// <summary>Ids of the clients whose inputs are in the sum (those that sent a masked input), ascending.</summary>
    public int[] Survivors { get; }

    /// <summary>The fixed-point format of the inputs.</summary>
    public FixedPointFormat Format { get; }

    /// <summary>
    /// The float sum: each word as a signed integer divided by 2^FractionalBits. Within
    /// Format.SumErrorBound(Survivors.Length) of the sum of the clipped float inputs, plus the float rounding of the result.
    /// </summary>
    /// <returns>One float per element.</returns>
    public float[] Dequantize()
    {
        var result = new float[Sum.Length];
        double scale = Format.Scale;
        for (int i = 0; i < result.Length; i++) result[i] = (float)((int)Sum[i] / scale);
        return result;
    }
}
