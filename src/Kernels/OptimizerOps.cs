namespace AllReduceNet.Kernels;

/// <summary>
/// The optimizer kernels: SGD with momentum and Adam/AdamW steps, in place. Each method checks its arguments here, once for every backend (so all
/// backends fail with the same messages), then calls the raw operation below, which each backend implements in its
/// file of this family (Cpu/CpuBackend.*.cs, Ilgpu/IlgpuBackend.*.cs). Every method throws
/// <see cref="ArgumentException"/> for a buffer that is too short or that another backend created, and
/// <see cref="ObjectDisposedException"/> after the backend was disposed.
/// </summary>
public static class OptimizerOps
{
    /// <summary>One SGD step over n = parameters.Length elements, updating <paramref name="parameters"/> and
    /// <paramref name="momentum"/> in place (formula in <see cref="SgdOptions"/>).</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="parameters">Weights p, length n.</param>
    /// <param name="gradients">Gradients g, at least n.</param>
    /// <param name="momentum">Momentum buffer v, at least n; zero before the first step.</param>
    /// <param name="options">Hyper-parameters.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void SgdStep(this IKernelBackend backend, DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> momentum, SgdOptions options)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(parameters).Length;
        kernels.AtLeast(gradients, n, "parameters.Length");
        kernels.AtLeast(momentum, n, "parameters.Length");
        options.Validate();
        kernels.SgdCore(parameters, gradients, momentum, n, options);
    }

    /// <summary>One Adam or AdamW step over n = parameters.Length elements with bias correction for step
    /// <paramref name="step"/> (formula in <see cref="AdamOptions"/>).</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="parameters">Weights p, length n.</param>
    /// <param name="gradients">Gradients g, at least n.</param>
    /// <param name="firstMoment">m, at least n; zero before step 1.</param>
    /// <param name="secondMoment">v, at least n; zero before step 1.</param>
    /// <param name="step">1-based step number t.</param>
    /// <param name="options">Hyper-parameters.</param>
    /// <exception cref="ArgumentOutOfRangeException">step is less than 1.</exception>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void AdamStep(this IKernelBackend backend, DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> firstMoment, DeviceBuffer<float> secondMoment, int step, AdamOptions options)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(parameters).Length;
        kernels.AtLeast(gradients, n, "parameters.Length");
        kernels.AtLeast(firstMoment, n, "parameters.Length");
        kernels.AtLeast(secondMoment, n, "parameters.Length");
        ThrowHelper.ThrowIfNotPositive(step);
        options.Validate();
        // Bias corrections in double: beta^t underflows gracefully and 1 - beta^t stays accurate for small t.
        double bc1 = 1.0 - Math.Pow(options.Beta1, step);
        double bc2 = 1.0 - Math.Pow(options.Beta2, step);
        var p = new AdamScalars
        {
            Beta1 = options.Beta1,
            OneMinusBeta1 = 1f - options.Beta1,
            Beta2 = options.Beta2,
            OneMinusBeta2 = 1f - options.Beta2,
            StepSize = (float)(options.LearningRate / bc1),
            InvSqrtBc2 = (float)(1.0 / Math.Sqrt(bc2)),
            Epsilon = options.Epsilon,
            L2 = options.DecoupledWeightDecay ? 0f : options.WeightDecay,
            Decay = options.DecoupledWeightDecay ? 1f - options.LearningRate * options.WeightDecay : 1f,
        };
        kernels.AdamCore(parameters, gradients, firstMoment, secondMoment, n, p);
    }
}

/// <summary>The raw operations of <see cref="OptimizerOps"/> that each backend supplies (arguments already checked).</summary>
internal abstract partial class KernelBackendBase
{
    internal abstract void SgdCore(DeviceBuffer<float> p, DeviceBuffer<float> g, DeviceBuffer<float> v, int n, SgdOptions o);
    internal abstract void AdamCore(DeviceBuffer<float> p, DeviceBuffer<float> g, DeviceBuffer<float> m, DeviceBuffer<float> v, int n, AdamScalars s);
}
