using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// <see cref="VectorQuantizer"/> against the scalar formula <see cref="FixedPoint.Quantize"/>, element for element, on
/// both its AVX-512 paths (embedded rounding modes where every clipped value converts in range, the portable one
/// where it may not) and the scalar tail: ties, values from 2^23 up (already integers), NaN, infinities, -0, denormals.
/// </summary>
public class VectorQuantizerTests
{
    public static TheoryData<int, float> Formats => new()
    {
        { 0, 1f }, { 16, 3f }, { 23, 1f }, { 24, 1f }, { 26, 1.5f }, { 28, 3f }, { 30, 1f },
        { 0, 1e9f }, { 0, 2.1e9f },   // clip x scale near and past 2^31: the portable path, saturating
        { 30, 1.999f }, { 30, 2f },   // just below and at 2^31
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void EqualsTheScalarFormula_ElementForElement(int bits, float clip)
    {
        float scale = MathF.Pow(2, bits);
        var rng = new Random(bits * 31 + (int)clip);
        // Signalling NaNs (quiet bit clear) too: the AVX-512 path maps NaN to 0 by class (VFIXUPIMMPS), QNaN and SNaN alike.
        float signalling = BitConverter.Int32BitsToSingle(0x7F800001), negativeSignalling = BitConverter.Int32BitsToSingle(unchecked((int)0xFFA00000));
        var x = new List<float> { float.NaN, -float.NaN, signalling, negativeSignalling, float.PositiveInfinity, float.NegativeInfinity, clip, -clip, 0f, -0f,
            float.Epsilon, -float.Epsilon, 1e-40f, float.MaxValue, float.MinValue, 8388608f / scale, -8388608f / scale,
            8388609f / scale, -8388609f / scale, 8388607.5f / scale, -8388607.5f / scale };
        for (int i = 0; i < 3000; i++)
        {
            long k = rng.NextInt64(-(long)Math.Min(clip * (double)scale, 1e15), (long)Math.Min(clip * (double)scale, 1e15));
            x.Add((float)((k + 0.5) / scale));   // ties where representable
            x.Add((float)(k / (double)scale));
            x.Add((float)((rng.NextDouble() * 2 - 1) * clip * 1.5));
        }
        x.Add(0.25f); // an odd count: the scalar tail too
        var xs = x.ToArray();
        var q = new int[xs.Length];
        VectorQuantizer.Quantize(xs, q, clip, scale);
        for (int i = 0; i < xs.Length; i++)
        {
            int expected = FixedPoint.Quantize(xs[i], clip, scale);
            Assert.True(expected == q[i], $"f = {bits}, clip {clip}, element {i}, x = {xs[i]:R}: expected {expected}, got {q[i]}");
        }
    }
}
