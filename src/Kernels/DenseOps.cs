using System.Buffers;

namespace AllReduceNet.Kernels;

/// <summary>
/// The dense-layer kernels: matrix products, fused dense forward and backward, softmax and its cross-entropy. Each method checks its arguments here, once for every backend (so all
/// backends fail with the same messages), then calls the raw operation below, which each backend implements in its
/// file of this family (Cpu/CpuBackend.*.cs, Ilgpu/IlgpuBackend.*.cs). Every method throws
/// <see cref="ArgumentException"/> for a buffer that is too short or that another backend created, and
/// <see cref="ObjectDisposedException"/> after the backend was disposed.
/// </summary>
public static class DenseOps
{
    /// <summary>C = op(A) op(B), C overwritten, where op(A) is m x k and op(B) is k x n. A is stored m x k, or k x m when
    /// <paramref name="transposeA"/>; B is stored k x n, or n x k when <paramref name="transposeB"/>.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="a">Matrix A.</param>
    /// <param name="b">Matrix B.</param>
    /// <param name="c">Receives the m x n product.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="transposeA">A is stored transposed.</param>
    /// <param name="transposeB">B is stored transposed.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void MatMul(this IKernelBackend backend, DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> c, int m, int k, int n, bool transposeA = false, bool transposeB = false)
    {
        var kernels = KernelBackendBase.Of(backend);
        ThrowHelper.ThrowIfNegative(m);
        ThrowHelper.ThrowIfNegative(k);
        ThrowHelper.ThrowIfNegative(n);
        kernels.AtLeast(a, ThrowHelper.CheckedElements(m, k, nameof(m), nameof(k)), "m * k");
        kernels.AtLeast(b, ThrowHelper.CheckedElements(k, n, nameof(k), nameof(n)), "k * n");
        kernels.AtLeast(c, ThrowHelper.CheckedElements(m, n, nameof(m), nameof(n)), "m * n");
        kernels.MatMulCore(a, b, c, m, k, n, transposeA, transposeB);
    }

    /// <summary>output = input W + bias (broadcast over rows), then max(0, .) when <paramref name="relu"/>.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="input">batch x inFeatures.</param>
    /// <param name="weights">inFeatures x outFeatures.</param>
    /// <param name="bias">outFeatures.</param>
    /// <param name="output">Receives batch x outFeatures.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="relu">Apply ReLU.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void DenseForward(this IKernelBackend backend, DeviceBuffer<float> input, DeviceBuffer<float> weights, DeviceBuffer<float> bias, DeviceBuffer<float> output, int batch, int inFeatures, int outFeatures, bool relu)
    {
        var kernels = KernelBackendBase.Of(backend);
        KernelBackendBase.Layer(batch, inFeatures, outFeatures);
        kernels.AtLeast(input, (long)batch * inFeatures, "batch * inFeatures");
        kernels.AtLeast(weights, (long)inFeatures * outFeatures, "inFeatures * outFeatures");
        kernels.AtLeast(bias, outFeatures, "outFeatures");
        kernels.AtLeast(output, (long)batch * outFeatures, "batch * outFeatures");
        kernels.MatMulCore(input, weights, output, batch, inFeatures, outFeatures, false, false);
        kernels.BiasActivationCore(output, bias, batch, outFeatures, relu);
    }

    /// <summary>
    /// Gradients of <see cref="DenseForward"/>. With dz = outputGradient ⊙ [output &gt; 0] when <paramref name="relu"/>
    /// (else dz = outputGradient): inputGradient = dz Wᵀ, weightGradient = inputᵀ dz, biasGradient = column sums of dz.
    /// Gradients are overwritten, not accumulated. When relu is true, <paramref name="outputGradient"/> is overwritten by dz.
    /// </summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="input">The forward input, batch x inFeatures.</param>
    /// <param name="weights">inFeatures x outFeatures.</param>
    /// <param name="output">The forward output (after ReLU), batch x outFeatures; read only when relu.</param>
    /// <param name="outputGradient">dL/d(output), batch x outFeatures.</param>
    /// <param name="inputGradient">Receives dL/d(input), batch x inFeatures; null to skip (first layer).</param>
    /// <param name="weightGradient">Receives dL/dW, inFeatures x outFeatures.</param>
    /// <param name="biasGradient">Receives dL/db, outFeatures.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="relu">The forward pass applied ReLU.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void DenseBackward(this IKernelBackend backend, DeviceBuffer<float> input, DeviceBuffer<float> weights, DeviceBuffer<float> output, DeviceBuffer<float> outputGradient, DeviceBuffer<float>? inputGradient, DeviceBuffer<float> weightGradient, DeviceBuffer<float> biasGradient, int batch, int inFeatures, int outFeatures, bool relu)
    {
        var kernels = KernelBackendBase.Of(backend);
        KernelBackendBase.Layer(batch, inFeatures, outFeatures);
        kernels.AtLeast(input, (long)batch * inFeatures, "batch * inFeatures");
        kernels.AtLeast(weights, (long)inFeatures * outFeatures, "inFeatures * outFeatures");
        kernels.AtLeast(outputGradient, (long)batch * outFeatures, "batch * outFeatures");
        if (relu) kernels.AtLeast(output, (long)batch * outFeatures, "batch * outFeatures");
        if (inputGradient is not null) kernels.AtLeast(inputGradient, (long)batch * inFeatures, "batch * inFeatures");
        kernels.AtLeast(weightGradient, (long)inFeatures * outFeatures, "inFeatures * outFeatures");
        kernels.AtLeast(biasGradient, outFeatures, "outFeatures");
        if (relu) kernels.ReluBackwardCore(output, outputGradient, batch * outFeatures);
        // dW = X^T dz, dX = dz W^T, db = column sums of dz.
        kernels.MatMulCore(input, outputGradient, weightGradient, inFeatures, batch, outFeatures, true, false);
        if (inputGradient is not null)
            kernels.MatMulCore(outputGradient, weights, inputGradient, batch, outFeatures, inFeatures, false, true);
        kernels.SumRowsCore(outputGradient, batch, outFeatures, biasGradient);
    }

    /// <summary>
    /// The propagating half of <see cref="DenseBackward"/>: ReLU's gradient applied to <paramref name="outputGradient"/>
    /// in place (when <paramref name="relu"/>), then inputGradient = outputGradient · Wᵀ (when not null); no parameter
    /// gradients. For callers that compute those from modified rows themselves: DP-SGD scales each example's row of
    /// dz by its clipping factor first, so the ordinary dW = Xᵀ·dz would be computed only to be thrown away.
    /// </summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="weights">inFeatures x outFeatures.</param>
    /// <param name="output">The forward output (batch x outFeatures), read when relu.</param>
    /// <param name="outputGradient">dL/d output (batch x outFeatures); overwritten with dL/dz when relu.</param>
    /// <param name="inputGradient">Receives dL/d input (batch x inFeatures), or null.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input columns.</param>
    /// <param name="outFeatures">Output columns.</param>
    /// <param name="relu">Whether the layer applied ReLU.</param>
    /// <exception cref="ArgumentNullException">backend or a required buffer is null.</exception>
    public static void DenseBackwardData(this IKernelBackend backend, DeviceBuffer<float> weights, DeviceBuffer<float> output, DeviceBuffer<float> outputGradient, DeviceBuffer<float>? inputGradient, int batch, int inFeatures, int outFeatures, bool relu)
    {
        var kernels = KernelBackendBase.Of(backend);
        KernelBackendBase.Layer(batch, inFeatures, outFeatures);
        kernels.AtLeast(weights, (long)inFeatures * outFeatures, "inFeatures * outFeatures");
        kernels.AtLeast(outputGradient, (long)batch * outFeatures, "batch * outFeatures");
        if (relu) kernels.AtLeast(output, (long)batch * outFeatures, "batch * outFeatures");
        if (inputGradient is not null) kernels.AtLeast(inputGradient, (long)batch * inFeatures, "batch * inFeatures");
        if (relu) kernels.ReluBackwardCore(output, outputGradient, batch * outFeatures);
        if (inputGradient is not null)
            kernels.MatMulCore(outputGradient, weights, inputGradient, batch, outFeatures, inFeatures, false, true);
    }

    /// <summary>Row-wise softmax, computed stably (max subtracted first).</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="logits">batch x classes.</param>
    /// <param name="probabilities">Receives batch x classes.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="classes">Columns, at least 1.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Softmax(this IKernelBackend backend, DeviceBuffer<float> logits, DeviceBuffer<float> probabilities, int batch, int classes)
    {
        var kernels = KernelBackendBase.Of(backend);
        ThrowHelper.ThrowIfNegative(batch);
        ThrowHelper.ThrowIfNotPositive(classes);
        long total = ThrowHelper.CheckedElements(batch, classes, nameof(batch), nameof(classes));
        kernels.AtLeast(logits, total, "batch * classes");
        kernels.AtLeast(probabilities, total, "batch * classes");
        kernels.SoftmaxCore(logits, probabilities, batch, classes);
    }

    /// <summary>
    /// Mean softmax cross-entropy loss, forward and backward: returns (1/batch) * sum over r of -log softmax(logits[r])[labels[r]],
    /// and writes logitsGradient = (softmax(logits) - onehot(labels)) / batch.
    /// </summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="logits">batch x classes.</param>
    /// <param name="labels">batch class indices, each in [0, classes).</param>
    /// <param name="logitsGradient">Receives dLoss/dLogits, batch x classes; may be the logits buffer itself.</param>
    /// <param name="batch">Rows, at least 1.</param>
    /// <param name="classes">Columns, at least 1.</param>
    /// <returns>The mean loss.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes).</exception>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static float SoftmaxCrossEntropy(this IKernelBackend backend, DeviceBuffer<float> logits, DeviceBuffer<int> labels, DeviceBuffer<float> logitsGradient, int batch, int classes)
    {
        var kernels = KernelBackendBase.Of(backend);
        ThrowHelper.ThrowIfNotPositive(batch);
        ThrowHelper.ThrowIfNotPositive(classes);
        long total = ThrowHelper.CheckedElements(batch, classes, nameof(batch), nameof(classes));
        kernels.AtLeast(logits, total, "batch * classes");
        kernels.AtLeast(labels, batch, "batch");
        kernels.AtLeast(logitsGradient, total, "batch * classes");
        // Called every training step: the host scratch comes from the pool, not from the garbage collector.
        var hostLabels = ArrayPool<int>.Shared.Rent(batch);
        var rowLoss = ArrayPool<float>.Shared.Rent(batch);
        try
        {
            labels.CopyTo(hostLabels.AsSpan(0, batch));
            for (int r = 0; r < batch; r++)
            {
                if ((uint)hostLabels[r] >= (uint)classes)
                    ThrowHelper.ThrowOutOfRange(nameof(labels), hostLabels[r], $"labels[{r}] = {hostLabels[r]} is outside [0, {classes}).");
            }
            kernels.SoftmaxCrossEntropyCore(logits, labels, logitsGradient, rowLoss, batch, classes);
            // Host sum in row order and in double: deterministic and exact enough.
            double sum = 0;
            for (int r = 0; r < batch; r++) sum += rowLoss[r];
            return (float)(sum / batch);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowLoss);
            ArrayPool<int>.Shared.Return(hostLabels);
        }
    }
}

/// <summary>The raw operations of <see cref="DenseOps"/> that each backend supplies (arguments already checked).</summary>
internal abstract partial class KernelBackendBase
{
    internal abstract void MatMulCore(DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> c, int m, int k, int n, bool transposeA, bool transposeB);
    internal abstract void BiasActivationCore(DeviceBuffer<float> output, DeviceBuffer<float> bias, int rows, int columns, bool relu);
    internal abstract void ReluBackwardCore(DeviceBuffer<float> output, DeviceBuffer<float> gradient, int n);
    internal abstract void SoftmaxCore(DeviceBuffer<float> logits, DeviceBuffer<float> probabilities, int rows, int classes);
    internal abstract void SoftmaxCrossEntropyCore(DeviceBuffer<float> logits, DeviceBuffer<int> labels, DeviceBuffer<float> gradient, float[] rowLoss, int rows, int classes);
}
