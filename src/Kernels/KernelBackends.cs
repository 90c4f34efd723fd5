using AllReduceNet.Kernels.Cpu;
using AllReduceNet.Kernels.Ilgpu;

namespace AllReduceNet.Kernels;

/// <summary>Creates kernel backends by name.</summary>
public static class KernelBackends
{
    /// <summary>The names <see cref="Create(string)"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "cpu", "ilgpu-cpu", "cuda"];

    /// <summary>
    /// Creates a backend: "cpu" is the SIMD CPU path (TensorPrimitives + Parallel.For); "cuda" is ILGPU on the first
    /// CUDA device; "ilgpu-cpu" is ILGPU's CPU accelerator, which emulates GPU threads and exists to test the GPU kernels
    /// without a GPU (it is slow: do not train on it); "auto" is "cuda" when a CUDA device exists and "cpu" otherwise.
    /// Names are case-insensitive.
    /// </summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <returns>A new backend; dispose it when done.</returns>
    /// <exception cref="ArgumentNullException">name is null.</exception>
    /// <exception cref="ArgumentException">name is not one of <see cref="Names"/>.</exception>
    /// <exception cref="NotSupportedException">"cuda" was requested but no CUDA device was found.</exception>
    public static IKernelBackend Create(string name) => Create(name, Environment.ProcessorCount);

    /// <summary>
    /// Creates a backend as <see cref="Create(string)"/> does, with the CPU backend's kernels limited to
    /// <paramref name="maxThreads"/> threads each: pass 1 when the callers are themselves as many threads as there
    /// are cores (in-process ranks), so kernels do not fight them for the cores. Results are bitwise the same for any
    /// value. The ILGPU backends ignore it.
    /// </summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="maxThreads">At least 1.</param>
    /// <returns>A new backend; dispose it when done.</returns>
    /// <exception cref="ArgumentNullException">name is null.</exception>
    /// <exception cref="ArgumentException">name is not one of <see cref="Names"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">maxThreads is less than 1.</exception>
    /// <exception cref="NotSupportedException">"cuda" was requested but no CUDA device was found.</exception>
    public static IKernelBackend Create(string name, int maxThreads)
    {
        ThrowHelper.ThrowIfNull(name);
        ThrowHelper.ThrowIfNotPositive(maxThreads);
        switch (name.Trim().ToLowerInvariant())
        {
            case "cpu":
                return new CpuBackend(maxThreads);
            case "ilgpu-cpu":
                return IlgpuBackend.CreateCpu();
            case "cuda":
                var cuda = IlgpuBackend.TryCreateCuda();
                if (cuda is null)
                    ThrowHelper.ThrowNotSupported("cuda requested but no CUDA device found (or the CUDA driver could not be loaded); use \"auto\" or \"cpu\".");
                return cuda;
            case "auto":
                return (IKernelBackend?)IlgpuBackend.TryCreateCuda() ?? new CpuBackend(maxThreads);
            default:
                ThrowHelper.ThrowArgument(nameof(name), $"name is '{name}', but must be one of: {string.Join(", ", Names)}.");
                return null!;
        }
    }

    /// <summary>True when a CUDA device is present and usable by ILGPU.</summary>
    /// <returns>Whether "auto" would pick CUDA.</returns>
    public static bool IsCudaAvailable()
    {
        using var backend = IlgpuBackend.TryCreateCuda();
        return backend is not null;
    }
}
