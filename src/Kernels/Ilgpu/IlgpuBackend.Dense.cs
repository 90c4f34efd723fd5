using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>Host side of <see cref="DenseKernels"/>.</summary>
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
        loss.View.CopyToCPU(rowLoss);
        Transfers.CountDeviceToHost((long)rows * sizeof(float));
    }
}
