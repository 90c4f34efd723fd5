namespace AllReduceNet.Kernels;

/// <summary>
/// One compute backend: buffers plus the kernels of AllReduceNet. Created by <see cref="KernelBackends.Create(string)"/>.
/// The kernels are extension methods on this interface, one static class per family: <see cref="OptimizerOps"/>,
/// <see cref="ReductionOps"/>, <see cref="MaskingOps"/>, <see cref="PrivacyOps"/> and <see cref="DenseOps"/>; each
/// checks its arguments once for every backend and runs the backend's raw operation (docs/kernels.md).
/// <para>
/// Layouts are row-major: a matrix of r rows and c columns occupies r*c consecutive elements, row after row. Dense layer
/// weights are stored [inFeatures, outFeatures] so a layer computes y = x W + b. All lengths are element counts; a
/// buffer may be longer than an operation needs, and only its first elements are used.
/// </para>
/// <para>
/// Calls are asynchronous on an accelerator and ordered on its one stream; <see cref="DeviceBuffer{T}.CopyTo(Span{T})"/> and any
/// method that returns a host value wait for the work before them. A backend is not thread-safe: call it from one
/// thread at a time. Every kernel throws <see cref="ArgumentNullException"/> for a null buffer,
/// <see cref="ArgumentException"/> for a buffer that is too short or that another backend created, and
/// <see cref="ObjectDisposedException"/> after <see cref="IDisposable.Dispose"/>.
/// </para>
/// </summary>
public interface IKernelBackend : IDisposable
{
    /// <summary>"cpu", "ilgpu-cpu" or "cuda".</summary>
    string Name { get; }

    /// <summary>Allocates a zeroed buffer.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="length">Element count, at least 0.</param>
    /// <returns>A buffer owned by this backend.</returns>
    /// <exception cref="ArgumentOutOfRangeException">length is negative.</exception>
    DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged;

    /// <summary>Waits until all submitted work has finished.</summary>
    void Synchronize();

    /// <summary>The copies between host memory and this backend's buffers so far.</summary>
    TransferCounter Transfers { get; }
}
