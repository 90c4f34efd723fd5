using System.Diagnostics;
using System.Runtime.InteropServices;

namespace AllReduceNet.Perf;

/// <summary>
/// The physical limit beside every row: one thread copying a buffer of the same size (read + write, counted as
/// bytes copied per second, the way busbw counts bytes), measured in the same run as the collectives.
/// </summary>
public static unsafe class MemcpyBandwidth
{
    public static double Measure(long bytes, int iterations)
    {
        if (bytes == 0) return 0;
        byte* source = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        byte* target = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            new Span<byte>(source, (int)Math.Min(bytes, int.MaxValue)).Fill(1);
            new Span<byte>(target, (int)Math.Min(bytes, int.MaxValue)).Clear();
            Buffer.MemoryCopy(source, target, bytes, bytes);
            // Small copies take nanoseconds: repeat them enough to be timed (about 64 MiB copied in all).
            iterations = (int)Math.Clamp((64L << 20) / bytes, iterations, 1_000_000);
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++) Buffer.MemoryCopy(source, target, bytes, bytes);
            return bytes * (double)iterations / watch.Elapsed.TotalSeconds / 1e9;
        }
        finally
        {
            NativeMemory.AlignedFree(source);
            NativeMemory.AlignedFree(target);
        }
    }
}
