using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>Host side of <see cref="OptimizerKernels"/>.</summary>
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
