using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>The reduction family on ILGPU: launchers here, device code in <see cref="ReductionKernels"/> below.</summary>
internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, GridStride>? _copy, _add;
    private Action<Index1D, ArrayView<float>, float, GridStride>? _scale;
    private Action<Index1D, ArrayView<int>, ArrayView<int>, GridStride>? _addWrapping;

    internal override void CopyCore(DeviceBuffer<float> source, int sourceOffset, DeviceBuffer<float> destination, int destinationOffset, int n)
    {
        _copy ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, GridStride>(ReductionKernels.Copy);
        var r = Range(n);
        if (n > 0) _copy(Threads(r), V(source).SubView(sourceOffset, n), V(destination).SubView(destinationOffset, n), r);
    }

    internal override void AddCore(DeviceBuffer<float> accumulator, int accumulatorOffset, DeviceBuffer<float> addend, int addendOffset, int n)
    {
        _add ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, GridStride>(ReductionKernels.Add);
        var r = Range(n);
        if (n > 0) _add(Threads(r), V(accumulator).SubView(accumulatorOffset, n), V(addend).SubView(addendOffset, n), r);
    }

    internal override void ScaleCore(DeviceBuffer<float> buffer, int offset, int n, float factor)
    {
        _scale ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float, GridStride>(ReductionKernels.Scale);
        var r = Range(n);
        if (n > 0) _scale(Threads(r), V(buffer).SubView(offset, n), factor, r);
    }

    internal override void AddWrappingCore(DeviceBuffer<int> accumulator, DeviceBuffer<int> addend, int n)
    {
        _addWrapping ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, GridStride>(ReductionKernels.AddWrapping);
        var r = Range(n);
        if (n > 0) _addWrapping(Threads(r), V(accumulator), V(addend), r);
    }
}

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
