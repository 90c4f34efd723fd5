using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>The optimizers family on ILGPU: the launchers, then the device code (<see cref="OptimizerKernels"/>), in one file.</summary>
internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerKernels.SgdScalars, GridStride>? _sgd;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars, GridStride>? _adam;

    internal override void SgdCore(DeviceBuffer<float> p, DeviceBuffer<float> g, DeviceBuffer<float> v, int n, SgdOptions o)
    {
        _sgd ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, OptimizerKernels.SgdScalars, GridStride>(OptimizerKernels.Sgd);
        var s = new OptimizerKernels.SgdScalars { LearningRate = o.LearningRate, Momentum = o.Momentum, WeightDecay = o.WeightDecay, Nesterov = o.Nesterov ? 1 : 0 };
        var r = Range(n);
        if (n > 0) _sgd(Threads(r), V(p), V(g), V(v), s, r);
    }

    internal override void AdamCore(DeviceBuffer<float> p, DeviceBuffer<float> g, DeviceBuffer<float> m, DeviceBuffer<float> v, int n, AdamScalars s)
    {
        _adam ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars, GridStride>(OptimizerKernels.Adam);
        var r = Range(n);
        if (n > 0) _adam(Threads(r), V(p), V(g), V(m), V(v), s, r);
    }
}

/// <summary>SGD and Adam steps as ILGPU kernels (grid-stride, one element per iteration; formulas in the options types).</summary>
internal static class OptimizerKernels
{
    /// <summary>SGD scalars, passed by value.</summary>
    public struct SgdScalars
    {
        public float LearningRate, Momentum, WeightDecay;
        public int Nesterov;
    }

    public static void Sgd(Index1D index, ArrayView<float> p, ArrayView<float> g, ArrayView<float> v, SgdScalars s, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride)
        {
            float d = g[i] + s.WeightDecay * p[i];
            float vi = s.Momentum * v[i] + d;
            v[i] = vi;
            float step = s.Nesterov != 0 ? d + s.Momentum * vi : vi;
            p[i] = p[i] - s.LearningRate * step;
        }
    }

    public static void Adam(Index1D index, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamScalars s, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride)
        {
            float pi = p[i];
            float d = g[i] + s.L2 * pi;
            pi *= s.Decay;
            float mi = s.Beta1 * m[i] + s.OneMinusBeta1 * d;
            float vi = s.Beta2 * v[i] + s.OneMinusBeta2 * (d * d);
            m[i] = mi;
            v[i] = vi;
            float denom = MathF.Sqrt(vi) * s.InvSqrtBc2 + s.Epsilon;
            p[i] = pi - s.StepSize * (mi / denom);
        }
    }
}
