namespace AllReduceNet.Privacy.Tests.MaskedRing;

/// <summary>
/// The all-gather's streaming copy (<see cref="StreamingCopy"/>): byte for byte the source, for every alignment of
/// the target and lengths around its thresholds (the ordinary head, the streamed lines, the tail), and nothing
/// outside the target's range is touched.
/// </summary>
public class StreamingCopyTests
{
    [Fact]
    public unsafe void CopiesEveryByte_AtEveryAlignment_AndNothingElse()
    {
        var random = new Random(5);
        foreach (int bytes in new[] { 0, 1, 63, 64, 1023, 1024, 1025, 4096 + 60, (32 << 10) + 17 })
            for (int misalignment = 0; misalignment < 64; misalignment += 4)
            {
                var source = new byte[bytes];
                random.NextBytes(source);
                var buffer = new byte[bytes + 256];
                buffer.AsSpan().Fill(0xA5);
                fixed (byte* b = buffer)
                fixed (byte* s = source)
                {
                    // Aligned to 64 first, then moved by the misalignment: the copy must not care where it lands.
                    byte* aligned = (byte*)(((nint)b + 63) & ~(nint)63);
                    byte* t = aligned + misalignment;
                    int offset = (int)(t - b);
                    StreamingCopy.Operator(t, s, bytes);
                    for (int i = 0; i < buffer.Length; i++)
                    {
                        byte expected = i >= offset && i < offset + bytes ? source[i - offset] : (byte)0xA5;
                        Assert.True(buffer[i] == expected, $"{bytes} bytes at misalignment {misalignment}: byte {i - offset} of the target is {buffer[i]}, expected {expected}");
                    }
                }
            }
    }
}
