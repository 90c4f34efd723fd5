using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>Dense layers and softmax cross-entropy on the CPU.</summary>
internal sealed partial class CpuBackend
{
    internal override void MatMulCore(DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> c, int m, int k, int n, bool transposeA, bool transposeB) =>
        CpuGemm.Multiply(A(a), A(b), A(c), m, k, n, transposeA, transposeB, MaxThreads, Workers);

    internal override void BiasActivationCore(DeviceBuffer<float> output, DeviceBuffer<float> bias, int rows, int columns, bool relu)
    {
        float[] y = A(output), bb = A(bias);
        ForRows(rows, columns, r =>
        {
            var row = y.AsSpan(r * columns, columns);
            TensorPrimitives.Add(row, bb.AsSpan(0, columns), row);
            if (relu) TensorPrimitives.Max(row, 0f, row);
        });
    }

    internal override void ReluBackwardCore(DeviceBuffer<float> output, DeviceBuffer<float> gradient, int n)
    {
        float[] y = A(output), g = A(gradient);
        ForBlocks(n, BlockSize, (start, len) => ReluMask(y.AsSpan(start, len), g.AsSpan(start, len)));
    }

    /// <summary>g = y &gt; 0 ? g : +0 (NaN y gives +0). Branch-free: about half the outputs of a ReLU layer are zero,
    /// in no pattern, so the scalar branch mispredicted on most elements and cost more than the layer's matmul share.</summary>
    internal static void ReluMask(ReadOnlySpan<float> y, Span<float> g)
    {
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float gr = ref MemoryMarshal.GetReference(g);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var keep = Vector512.GreaterThan(Vector512.LoadUnsafe(ref yr, (nuint)i), Vector512<float>.Zero);
                (Vector512.LoadUnsafe(ref gr, (nuint)i) & keep).StoreUnsafe(ref gr, (nuint)i);
            }
        }
        for (; i <= y.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var keep = Vector256.GreaterThan(Vector256.LoadUnsafe(ref yr, (nuint)i), Vector256<float>.Zero);
            (Vector256.LoadUnsafe(ref gr, (nuint)i) & keep).StoreUnsafe(ref gr, (nuint)i);
        }
        for (; i < y.Length; i++)
        {
            if (!(y[i] > 0f)) g[i] = 0f;
        }
    }

    internal override void SoftmaxCore(DeviceBuffer<float> logits, DeviceBuffer<float> probabilities, int rows, int classes)
    {
        float[] z = A(logits), p = A(probabilities);
        ForRows(rows, classes, r => SoftmaxRow(z.AsSpan(r * classes, classes), p.AsSpan(r * classes, classes)));
    }

    internal override void SoftmaxCrossEntropyCore(DeviceBuffer<float> logits, DeviceBuffer<int> labels, DeviceBuffer<float> gradient, float[] rowLoss, int rows, int classes)
    {
        float[] z = A(logits), g = A(gradient);
        int[] y = A(labels);
        float invBatch = 1f / rows;
        ForRows(rows, classes, r =>
        {
            var zr = z.AsSpan(r * classes, classes);
            var gr = g.AsSpan(r * classes, classes);
            int label = y[r];
            float zLabel = zr[label];
            float logSum = SoftmaxRow(zr, gr);
            // loss = log(sum exp(z - max)) - (z_label - max)
            rowLoss[r] = logSum - zLabel;
            gr[label] -= 1f;
            TensorPrimitives.Multiply(gr, invBatch, gr);
        });
    }

    /// <summary>p = softmax(z) stably; returns max + log(sum exp(z - max)), the log-partition (p may alias z).</summary>
    private static float SoftmaxRow(ReadOnlySpan<float> z, Span<float> p)
    {
        float max = TensorPrimitives.Max(z);
        TensorPrimitives.Subtract(z, max, p);
        TensorPrimitives.Exp(p, p);
        float sum = TensorPrimitives.Sum(p);
        TensorPrimitives.Multiply(p, 1f / sum, p);
        return max + MathF.Log(sum);
    }
}
