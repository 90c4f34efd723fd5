using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>The privacy family on ILGPU: the launchers, then the device code (<see cref="PrivacyKernels"/>), in one file.</summary>
internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape>? _rowNorms;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape, float, GridStride>? _clipRows;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape, GridStride>? _sumRows;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape, GridStride>? _scaleRows;
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

    internal override void ScaleRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> factors)
    {
        _scaleRows ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, PrivacyKernels.Shape, GridStride>(PrivacyKernels.ScaleRows);
        long n = (long)rowCount * rowLength;
        var r = Range(n);
        var shape = new PrivacyKernels.Shape { Rows = rowCount, RowLength = rowLength };
        if (n > 0) _scaleRows(Threads(r), V(rows), V(factors), shape, r);
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

/// <summary>
/// Differential-privacy kernels: per-example L2 norms (one thread group per row, a shared-memory tree reduction in a
/// fixed order), clipping, column sums over the batch, and Gaussian noise from Philox + Box-Muller.
/// </summary>
internal static class PrivacyKernels
{
    /// <summary>Threads per group of the norm reduction (a power of two).</summary>
    public const int ReduceGroup = 128;

    public struct Shape
    {
        public int Rows, RowLength;
    }

    /// <summary>Explicitly grouped: group g handles rows g, g + gridDim, ...; its threads stride along the row.</summary>
    public static void RowNorms(ArrayView<float> rows, ArrayView<float> norms, Shape s)
    {
        ArrayView<float> partial = SharedMemory.Allocate<float>(ReduceGroup);
        int t = Group.IdxX;
        for (int r = Grid.IdxX; r < s.Rows; r += Grid.DimX)
        {
            long offset = (long)r * s.RowLength;
            float sum = 0f;
            for (int c = t; c < s.RowLength; c += ReduceGroup)
            {
                float x = rows[offset + c];
                sum += x * x;
            }
            partial[t] = sum;
            Group.Barrier();
            for (int width = ReduceGroup / 2; width > 0; width >>= 1)
            {
                if (t < width) partial[t] += partial[t + width];
                Group.Barrier();
            }
            if (t == 0) norms[r] = MathF.Sqrt(partial[0]);
            Group.Barrier();
        }
    }

    public static void ClipRows(Index1D index, ArrayView<float> rows, ArrayView<float> norms, Shape s, float clipNorm, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride)
            rows[i] *= ClipMath.Scale(norms[i / s.RowLength], clipNorm);
    }

    public static void ScaleRows(Index1D index, ArrayView<float> rows, ArrayView<float> factors, Shape s, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride)
            rows[i] *= factors[i / s.RowLength];
    }

    /// <summary>A thread per column; rows are added in order, and neighbouring threads read neighbouring addresses.</summary>
    public static void SumRows(Index1D index, ArrayView<float> rows, ArrayView<float> output, Shape s, GridStride columns)
    {
        for (long c = index.X; c < columns.Count; c += columns.Stride)
        {
            float sum = 0f;
            for (int r = 0; r < s.Rows; r++) sum += rows[(long)r * s.RowLength + c];
            output[c] = sum;
        }
    }

    /// <summary>A thread per Philox block: four normals for four consecutive elements.</summary>
    public static void AddNoise(Index1D index, ArrayView<float> buffer, float standardDeviation, Seed128 seed, GridStride blocks)
    {
        long n = buffer.Length;
        for (long b = index.X; b < blocks.Count; b += blocks.Stride)
        {
            UInt4 w = Philox4x32.StreamBlock(seed, b);
            long i = b * 4;
            buffer[i] += standardDeviation * GaussianTransform.Normal(w, 0);
            if (i + 1 < n) buffer[i + 1] += standardDeviation * GaussianTransform.Normal(w, 1);
            if (i + 2 < n) buffer[i + 2] += standardDeviation * GaussianTransform.Normal(w, 2);
            if (i + 3 < n) buffer[i + 3] += standardDeviation * GaussianTransform.Normal(w, 3);
        }
    }
}
