using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>The dense family on ILGPU: the launchers, then the device code (<see cref="DenseKernels"/>), in one file.</summary>
internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseKernels.GemmShape>? _matMul;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, GridStride>? _biasActivation;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, GridStride>? _reluBackward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int, GridStride>? _softmax;
    private Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, GridStride>? _softmaxCrossEntropy;

    internal override void MatMulCore(DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> c, int m, int k, int n, bool transposeA, bool transposeB)
    {
        _matMul ??= _accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, DenseKernels.GemmShape>(DenseKernels.MatMulTiled);
        if (m == 0 || n == 0) return;
        const int T = DenseKernels.Tile;
        var grid = new Index2D((n + T - 1) / T, (m + T - 1) / T);
        var shape = new DenseKernels.GemmShape { M = m, K = k, N = n, TransposeA = transposeA ? 1 : 0, TransposeB = transposeB ? 1 : 0 };
        _matMul(new KernelConfig(grid, new Index2D(T, T)), V(a), V(b), V(c), shape);
    }

    internal override void BiasActivationCore(DeviceBuffer<float> output, DeviceBuffer<float> bias, int rows, int columns, bool relu)
    {
        _biasActivation ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, GridStride>(DenseKernels.BiasActivation);
        var r = Range((long)rows * columns);
        if (r.Count > 0) _biasActivation(Threads(r), V(output), V(bias), columns, relu ? 1 : 0, r);
    }

    internal override void ReluBackwardCore(DeviceBuffer<float> output, DeviceBuffer<float> gradient, int n)
    {
        _reluBackward ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, GridStride>(DenseKernels.ReluBackward);
        var r = Range(n);
        if (n > 0) _reluBackward(Threads(r), V(output), V(gradient), r);
    }

    internal override void SoftmaxCore(DeviceBuffer<float> logits, DeviceBuffer<float> probabilities, int rows, int classes)
    {
        _softmax ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, GridStride>(DenseKernels.Softmax);
        var r = Range(rows);
        if (rows > 0) _softmax(Threads(r), V(logits), V(probabilities), classes, r);
    }

    internal override void SoftmaxCrossEntropyCore(DeviceBuffer<float> logits, DeviceBuffer<int> labels, DeviceBuffer<float> gradient, float[] rowLoss, int rows, int classes)
    {
        _softmaxCrossEntropy ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, GridStride>(DenseKernels.SoftmaxCrossEntropy);
        using var loss = _accelerator.Allocate1D<float>(rows);
        var r = Range(rows);
        _softmaxCrossEntropy(Threads(r), V(logits), V(labels), V(gradient), loss.View, classes, r);
        _accelerator.Synchronize();
        // rowLoss may be longer than rows (a pooled array): copy exactly the rows.
        ArrayView<float> rowLossView = loss.View;
        rowLossView.CopyToCPU(rowLoss.AsSpan(0, rows));
        Transfers.CountDeviceToHost((long)rows * sizeof(float));
    }
}

/// <summary>
/// Dense-layer kernels: the tiled matrix product (shared memory, one output per thread), bias + ReLU, the ReLU
/// derivative, softmax and softmax cross-entropy.
/// </summary>
internal static class DenseKernels
{
    /// <summary>Tile edge: a 16 x 16 group stages a 16 x 16 tile of A and of B in shared memory per step along k.</summary>
    public const int Tile = 16;

    public struct GemmShape
    {
        public int M, K, N, TransposeA, TransposeB;
    }

    /// <summary>
    /// Explicitly grouped, grid (ceil(N/16), ceil(M/16)), group (16, 16). Each step along k, every thread loads one
    /// element of A and one of B into shared memory (zero outside the matrix), the group waits, and each thread
    /// accumulates its dot-product slice from shared memory: global traffic falls by the tile edge, 16x.
    /// </summary>
    public static void MatMulTiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s)
    {
        ArrayView<float> tileA = SharedMemory.Allocate<float>(Tile * Tile);
        ArrayView<float> tileB = SharedMemory.Allocate<float>(Tile * Tile);
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * Tile + ty;
        int col = Grid.IdxX * Tile + tx;
        float acc = 0f;
        for (int k0 = 0; k0 < s.K; k0 += Tile)
        {
            int ka = k0 + tx;
            float va = 0f;
            if (row < s.M && ka < s.K)
                va = s.TransposeA != 0 ? a[(long)ka * s.M + row] : a[(long)row * s.K + ka];
            tileA[ty * Tile + tx] = va;
            int kb = k0 + ty;
            float vb = 0f;
            if (kb < s.K && col < s.N)
                vb = s.TransposeB != 0 ? b[(long)col * s.K + kb] : b[(long)kb * s.N + col];
            tileB[ty * Tile + tx] = vb;
            Group.Barrier();
            for (int q = 0; q < Tile; q++) acc += tileA[ty * Tile + q] * tileB[q * Tile + tx];
            Group.Barrier();
        }
        if (row < s.M && col < s.N) c[(long)row * s.N + col] = acc;
    }

    public static void BiasActivation(Index1D index, ArrayView<float> output, ArrayView<float> bias, int columns, int relu, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride)
        {
            float y = output[i] + bias[i % columns];
            output[i] = relu != 0 ? MathF.Max(y, 0f) : y;
        }
    }

    public static void ReluBackward(Index1D index, ArrayView<float> output, ArrayView<float> gradient, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride)
        {
            if (!(output[i] > 0f)) gradient[i] = 0f;
        }
    }

    /// <summary>A thread per row (class counts are small): max, exp-sum, normalise; three passes over the row.</summary>
    public static void Softmax(Index1D index, ArrayView<float> logits, ArrayView<float> probabilities, int classes, GridStride rows)
    {
        for (long r = index.X; r < rows.Count; r += rows.Stride)
        {
            long o = r * classes;
            SoftmaxRow(logits, probabilities, o, classes);
        }
    }

    /// <summary>Like <see cref="Softmax"/>, then the gradient (p - onehot) / batch and the row's loss.</summary>
    public static void SoftmaxCrossEntropy(Index1D index, ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> gradient,
        ArrayView<float> rowLoss, int classes, GridStride rows)
    {
        float invBatch = 1f / rows.Count;
        for (long r = index.X; r < rows.Count; r += rows.Stride)
        {
            long o = r * classes;
            int label = labels[r];
            float zLabel = logits[o + label];
            float logPartition = SoftmaxRow(logits, gradient, o, classes);
            rowLoss[r] = logPartition - zLabel;
            gradient[o + label] -= 1f;
            for (int c = 0; c < classes; c++) gradient[o + c] *= invBatch;
        }
    }

    /// <summary>p[o..o+classes) = softmax(z[o..o+classes)); returns max + log(sum exp(z - max)). p may alias z.</summary>
    private static float SoftmaxRow(ArrayView<float> z, ArrayView<float> p, long o, int classes)
    {
        float max = z[o];
        for (int c = 1; c < classes; c++) max = MathF.Max(max, z[o + c]);
        float sum = 0f;
        for (int c = 0; c < classes; c++)
        {
            float e = MathF.Exp(z[o + c] - max);
            p[o + c] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int c = 0; c < classes; c++) p[o + c] *= inv;
        return max + MathF.Log(sum);
    }
}
