namespace AllReduceNet.Privacy.Tests.MaskedRing;

/// <summary>
/// The fused ring's last-step operator (<see cref="DequantizingAdd"/>): for every fractional-bit count it gives the
/// bits of adding modulo 2^32, then <see cref="Privacy.MaskedRing.Dequantize"/>, over the vector paths and the
/// scalar tail, including sums that wrap.
/// </summary>
public class DequantizingAddTests
{
    public static TheoryData<int> AllFractionalBits => new(Enumerable.Range(0, 31));

    [Theory]
    [MemberData(nameof(AllFractionalBits))]
    public unsafe void EqualsWrappedAddThenDequantize_BitForBit(int bits)
    {
        var random = new Random(bits);
        foreach (int count in new[] { 0, 1, 7, 8, 15, 16, 17, 31, 8192 + 13 })
        {
            var target = new int[count];
            var source = new int[count];
            for (int i = 0; i < count; i++)
            {
                target[i] = random.Next(int.MinValue, int.MaxValue);
                source[i] = random.Next(int.MinValue, int.MaxValue);
            }
            var expected = new float[count];
            var wrapped = new int[count];
            for (int i = 0; i < count; i++) wrapped[i] = unchecked(target[i] + source[i]);
            Privacy.MaskedRing.Dequantize(wrapped, expected, 1f / (1 << bits));

            fixed (int* t = target)
            fixed (int* s = source)
                DequantizingAdd.For(bits)(t, s, (long)count * sizeof(int));

            var actual = System.Runtime.InteropServices.MemoryMarshal.Cast<int, float>(target);
            for (int i = 0; i < count; i++)
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                    $"f = {bits}, count {count}, element {i}: {wrapped[i]} dequantized to {actual[i]}, expected {expected[i]}");
        }
    }

    [Fact]
    public void DistinctOperatorPerScale_AndOutOfRangeBitsAreRefused()
    {
        unsafe
        {
            var pointers = Enumerable.Range(0, 31).Select(b => (nint)DequantizingAdd.For(b)).ToArray();
            Assert.Equal(31, pointers.Distinct().Count());
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => { unsafe { _ = DequantizingAdd.For(31); } });
        Assert.Throws<ArgumentOutOfRangeException>(() => { unsafe { _ = DequantizingAdd.For(-1); } });
    }
}
