using ILGPU;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>Element-wise reduction helpers for device-resident buffers: copy, sum, scale, wrapping integer sum.</summary>
internal static class ReductionKernels
{
    public static void Copy(Index1D index, ArrayView<float> source, ArrayView<float> destination, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride) destination[i] = source[i];
    }

    public static void Add(Index1D index, ArrayView<float> accumulator, ArrayView<float> addend, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride) accumulator[i] += addend[i];
    }

    public static void Scale(Index1D index, ArrayView<float> buffer, float factor, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride) buffer[i] *= factor;
    }

    /// <summary>Two's-complement addition wraps modulo 2^32 on every target, which is what makes masks cancel.</summary>
    public static void AddWrapping(Index1D index, ArrayView<int> accumulator, ArrayView<int> addend, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride) accumulator[i] = unchecked(accumulator[i] + addend[i]);
    }
}
