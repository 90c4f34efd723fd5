using System.Numerics.Tensors;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>Differential privacy on the CPU: per-row norms and clipping, row sums, Philox/Box-Muller noise (<see cref="GaussianNoise"/>).</summary>
internal sealed partial class CpuBackend
{
    internal override void RowNormsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> norms)
    {
        float[] x = A(rows), nr = A(norms);
        // One row per task: each norm is one TensorPrimitives call, so its summation order is fixed.
        ForRows(rowCount, rowLength, r => nr[r] = TensorPrimitives.Norm(x.AsSpan(r * rowLength, rowLength)));
    }

    internal override void ClipRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, float clipNorm, DeviceBuffer<float> norms)
    {
        float[] x = A(rows), nr = A(norms);
        // Norm and scale one row at a time, so the scaling pass finds the row still in cache.
        ForRows(rowCount, rowLength, r =>
        {
            var row = x.AsSpan(r * rowLength, rowLength);
            float norm = TensorPrimitives.Norm(row);
            nr[r] = norm;
            float s = ClipMath.Scale(norm, clipNorm);
            if (s != 1f) TensorPrimitives.Multiply(row, s, row);
        });
    }

    internal override void ScaleRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> factors)
    {
        float[] x = A(rows), f = A(factors);
        ForRows(rowCount, rowLength, r =>
        {
            if (f[r] != 1f)
            {
                var row = x.AsSpan(r * rowLength, rowLength);
                TensorPrimitives.Multiply(row, f[r], row);
            }
        });
    }

    internal override void SumRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> output)
    {
        float[] x = A(rows), o = A(output);
        // Parallel over column blocks; inside a block rows are added in order 0, 1, 2, ...
        ForBlocks(rowLength, BlockSize, (start, len) =>
        {
            var dst = o.AsSpan(start, len);
            if (rowCount == 0)
            {
                dst.Clear();
                return;
            }
            x.AsSpan(start, len).CopyTo(dst);
            for (int r = 1; r < rowCount; r++) TensorPrimitives.Add(dst, x.AsSpan(r * rowLength + start, len), dst);
        });
    }

    internal override void NoiseCore(DeviceBuffer<float> buffer, int n, float standardDeviation, Seed128 seed)
    {
        float[] x = A(buffer);
        // Chunks start at multiples of BlockSize (a multiple of 4), so they fall on Philox blocks.
        ForBlocks(n, BlockSize, (start, len) => GaussianNoise.Add(x.AsSpan(start, len), start, standardDeviation, seed));
    }

    /// <summary>Parallel over rows when the matrix is big enough to be worth it and more than one thread is allowed.
    /// A training step's bias-and-ReLU over a 128 x 256 layer output (32K floats, a few microseconds of work) stays on
    /// the calling thread: a Parallel.For cost as much on a quiet machine and far more when the cores are contended.
    /// Rows are independent, so the bits are the same either way.</summary>
    private void ForRows(int rowCount, int rowLength, Action<int> body)
    {
        if ((long)rowCount * rowLength < InlineElements || rowCount == 1 || MaxThreads == 1)
        {
            for (int r = 0; r < rowCount; r++) body(r);
        }
        else
        {
            ParallelFor(rowCount, body);
        }
    }
}
