using System.Numerics.Tensors;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>Optimizer steps of the CPU backend: fused per block, each block's temporaries on the stack.</summary>
internal sealed partial class CpuBackend
{
    internal override void SgdCore(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> momentum, int n, SgdOptions o)
    {
        float[] pa = A(parameters), ga = A(gradients), va = A(momentum);
        float lr = o.LearningRate, mu = o.Momentum, wd = o.WeightDecay;
        bool nesterov = o.Nesterov;
        // Plain momentum SGD (no weight decay, no Nesterov) is two passes that read g, v and p where they lie; the
        // scratch d (and its two copies) is only needed for g' = g + wd p and for Nesterov's look-ahead. The same
        // operations on the same values either way, so the same bits.
        bool scratch = wd != 0f || nesterov;
        ForBlocks(n, BlockSize, (start, len) =>
        {
            Span<float> p = pa.AsSpan(start, len), v = va.AsSpan(start, len);
            ReadOnlySpan<float> g = ga.AsSpan(start, len);
            if (!scratch)
            {
                TensorPrimitives.MultiplyAdd(v, mu, g, v);           // v = mu v + g
                TensorPrimitives.MultiplyAdd(v, -lr, p, p);          // p -= lr v
                return;
            }
            Span<float> d = stackalloc float[len];
            if (wd != 0f) TensorPrimitives.MultiplyAdd(p, wd, g, d); // g' = g + wd p
            else g.CopyTo(d);
            TensorPrimitives.MultiplyAdd(v, mu, d, v);              // v = mu v + g'
            if (nesterov) TensorPrimitives.MultiplyAdd(v, mu, d, d); // d = g' + mu v
            else v.CopyTo(d);
            TensorPrimitives.MultiplyAdd(d, -lr, p, p);              // p -= lr d
        });
    }

    internal override void AdamCore(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int n, AdamScalars s)
    {
        float[] pa = A(parameters), ga = A(gradients), ma = A(firstMoment), va = A(secondMoment);
        ForBlocks(n, BlockSize, (start, len) =>
        {
            Span<float> p = pa.AsSpan(start, len), m = ma.AsSpan(start, len), v = va.AsSpan(start, len);
            ReadOnlySpan<float> g = ga.AsSpan(start, len);
            Span<float> d = stackalloc float[len];
            Span<float> t = stackalloc float[len];
            if (s.L2 != 0f) TensorPrimitives.MultiplyAdd(p, s.L2, g, d);  // Adam: g' = g + wd p
            else g.CopyTo(d);
            if (s.Decay != 1f) TensorPrimitives.Multiply(p, s.Decay, p);  // AdamW: p *= 1 - lr wd
            TensorPrimitives.Multiply(m, s.Beta1, m);
            TensorPrimitives.MultiplyAdd(d, s.OneMinusBeta1, m, m);        // m = b1 m + (1 - b1) g'
            TensorPrimitives.Multiply(d, d, t);
            TensorPrimitives.Multiply(v, s.Beta2, v);
            TensorPrimitives.MultiplyAdd(t, s.OneMinusBeta2, v, v);        // v = b2 v + (1 - b2) g'^2
            TensorPrimitives.Sqrt(v, t);
            TensorPrimitives.Multiply(t, s.InvSqrtBc2, t);
            TensorPrimitives.Add(t, s.Epsilon, t);                        // sqrt(v) / sqrt(bc2) + eps
            TensorPrimitives.Divide(m, t, t);
            TensorPrimitives.MultiplyAdd(t, -s.StepSize, p, p);            // p -= lr / bc1 * m / denom
        });
    }
}
