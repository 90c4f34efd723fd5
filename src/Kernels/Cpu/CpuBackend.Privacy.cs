using System.Numerics.Tensors;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>Differential privacy on the CPU: per-row norms and clipping, row sums, Philox/Box-Muller noise.</summary>
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
        // Box-Muller in bulk: the uniforms of a chunk's Philox blocks first, then log, sqrt and sin/cos vectorized
        // (TensorPrimitives) over the whole chunk; each pair of lanes shares one radius. The numbers are those of
        // GaussianTransform.Normal up to the last bits of the vectorized functions. Chunks start at multiples of 4
        // (BlockSize is), so chunk boundaries fall on Philox blocks.
        ForBlocks(n, BlockSize, (start, len) =>
        {
            int pairs = (len + 1) / 2;
            float[] radius = System.Buffers.ArrayPool<float>.Shared.Rent(pairs), angle = System.Buffers.ArrayPool<float>.Shared.Rent(pairs);
            float[] sin = System.Buffers.ArrayPool<float>.Shared.Rent(pairs), cos = System.Buffers.ArrayPool<float>.Shared.Rent(pairs);
            try
            {
                const float TwoToMinus24 = 1f / 16777216f;
                for (int p = 0; p < pairs; p += 2)
                {
                    UInt4 block = Philox4x32.StreamBlock(seed, (start >> 2) + (p >> 1));
                    radius[p] = ((block.X0 >> 8) + 1u) * TwoToMinus24;
                    angle[p] = (block.X1 >> 8) * TwoToMinus24;
                    if (p + 1 < pairs)
                    {
                        radius[p + 1] = ((block.X2 >> 8) + 1u) * TwoToMinus24;
                        angle[p + 1] = (block.X3 >> 8) * TwoToMinus24;
                    }
                }
                var r = radius.AsSpan(0, pairs);
                var theta = angle.AsSpan(0, pairs);
                TensorPrimitives.Log(r, r);
                TensorPrimitives.Multiply(r, -2f, r);
                TensorPrimitives.Sqrt(r, r);
                TensorPrimitives.Multiply(r, standardDeviation, r);
                TensorPrimitives.Multiply(theta, 6.28318530717958647692f, theta);
                TensorPrimitives.SinCos(theta, sin.AsSpan(0, pairs), cos.AsSpan(0, pairs));
                for (int k = 0; k < len; k++)
                {
                    int p = k >> 1;
                    x[start + k] += (k & 1) == 0 ? r[p] * cos[p] : r[p] * sin[p];
                }
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(radius);
                System.Buffers.ArrayPool<float>.Shared.Return(angle);
                System.Buffers.ArrayPool<float>.Shared.Return(sin);
                System.Buffers.ArrayPool<float>.Shared.Return(cos);
            }
        });
    }

    /// <summary>Parallel over rows when the matrix is big enough to be worth it and more than one thread is allowed.</summary>
    private void ForRows(int rowCount, int rowLength, Action<int> body)
    {
        if ((long)rowCount * rowLength < 2 * BlockSize || rowCount == 1 || MaxThreads == 1)
        {
            for (int r = 0; r < rowCount; r++) body(r);
        }
        else
        {
            Parallel.For(0, rowCount, _parallel, body);
        }
    }
}
