using AllReduceNet.Training.Strategies;

namespace AllReduceNet.Training.Tests;

public class SparseGradientCodecTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.02)]
    [InlineData(0.49)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(1.0)]
    public void Encoding_then_adding_reproduces_the_gradient(double density)
    {
        var random = new Random(11);
        var gradient = Enumerable.Range(0, 101).Select(_ => random.NextDouble() < density ? (float)random.NextDouble() - 0.5f : 0f).ToArray();
        var message = new int[SparseGradientCodec.Capacity(gradient.Length)];
        int length = SparseGradientCodec.Encode(gradient, message);
        int nonZero = gradient.Count(g => g != 0);
        int smallest = Math.Min(2 + gradient.Length, Math.Min(2 + 2 * nonZero, 2 + (gradient.Length + 31) / 32 + nonZero));
        Assert.Equal(smallest, length);
        var sum = Enumerable.Repeat(1f, gradient.Length).ToArray();
        SparseGradientCodec.AddTo(message.AsSpan(0, length), sum);
        for (int i = 0; i < gradient.Length; i++) Assert.Equal(1f + gradient[i], sum[i]);
    }
}
