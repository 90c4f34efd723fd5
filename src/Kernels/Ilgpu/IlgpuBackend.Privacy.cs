using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>Host side of <see cref="PrivacyKernels"/>.</summary>
internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape>? _rowNorms;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape, float, GridStride>? _clipRows;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape, GridStride>? _sumRows;
    private Action<Index1D, ArrayView<float>, float, Seed128, GridStride>? _noise;

    internal override void RowNormsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> norms)
    {
        _rowNorms ??= _accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape>(PrivacyKernels.RowNorms);
        if (rowCount == 0) return;
        int groups = Math.Max(1, Math.Min(rowCount, _gridThreads / PrivacyKernels.ReduceGroup));
        var shape = new PrivacyKernels.Shape { Rows = rowCount, RowLength = rowLength };
        _rowNorms(new KernelConfig(groups, PrivacyKernels.ReduceGroup), V(rows), V(norms), shape);
    }

    internal override void ClipRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, float clipNorm, DeviceBuffer<float> norms)
    {
        RowNormsCore(rows, rowCount, rowLength, norms);
        _clipRows ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape, float, GridStride>(PrivacyKernels.ClipRows);
        long n = (long)rowCount * rowLength;
        var r = Range(n);
        var shape = new PrivacyKernels.Shape { Rows = rowCount, RowLength = rowLength };
        if (n > 0) _clipRows(Threads(r), V(rows), V(norms), shape, clipNorm, r);
    }

    internal override void SumRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> output)
    {
        _sumRows ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape, GridStride>(PrivacyKernels.SumRows);
        var r = Range(rowLength);
        var shape = new PrivacyKernels.Shape { Rows = rowCount, RowLength = rowLength };
        if (rowLength > 0) _sumRows(Threads(r), V(rows), V(output), shape, r);
    }

    internal override void NoiseCore(DeviceBuffer<float> buffer, int n, float standardDeviation, Seed128 seed)
    {
        _noise ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float, Seed128, GridStride>(PrivacyKernels.AddNoise);
        var blocks = Range((n + 3L) / 4);
        if (n > 0) _noise(Threads(blocks), V(buffer).SubView(0, n), standardDeviation, seed, blocks);
    }
}
