using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>
/// The ILGPU backend: CUDA when asked for and present, or ILGPU's CPU accelerator (which emulates GPU threads, for
/// tests). Each kernel is compiled on first use and kept as a typed delegate; all run on the accelerator's default
/// stream, in call order. The kernel families' host sides live in the partial files beside this one.
/// </summary>
internal sealed partial class IlgpuBackend : KernelBackendBase
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly string _name;
    private readonly int _gridThreads;

    private IlgpuBackend(Context context, Accelerator accelerator, string name)
    {
        _context = context;
        _accelerator = accelerator;
        _name = name;
        // Enough threads to fill every multiprocessor; grid-stride loops cover the rest.
        _gridThreads = Math.Max(1, accelerator.NumMultiprocessors * accelerator.MaxNumThreadsPerMultiprocessor);
    }

    /// <summary>
    /// Context options shared by every ILGPU backend (and the PTX compilation tests): EnableAlgorithms maps
    /// MathF.Exp/Log/Sqrt/Sin/Cos in the kernels to implementations the PTX backend can emit.
    /// </summary>
    internal static Context.Builder Configure(Context.Builder builder) => builder.EnableAlgorithms();

    /// <summary>ILGPU's CPU accelerator, shaped so that 256-thread groups (the 16 x 16 matmul tile) fit in one group.</summary>
    public static IlgpuBackend CreateCpu()
    {
        // 4 threads per warp x 64 warps = 256 threads per group, one emulated multiprocessor.
        var device = new CPUDevice(4, 64, 1);
        var context = Context.Create(b => Configure(b.CPU(device)));
        try
        {
            return new IlgpuBackend(context, context.GetCPUDevice(0).CreateCPUAccelerator(context), "ilgpu-cpu");
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>The first CUDA device, or null when none exists (or the CUDA driver cannot be loaded).</summary>
    public static IlgpuBackend? TryCreateCuda()
    {
        Context? context = null;
        try
        {
            context = Context.Create(b => Configure(b.Cuda()));
            if (context.GetCudaDevices().Count == 0)
            {
                context.Dispose();
                return null;
            }
            return new IlgpuBackend(context, context.CreateCudaAccelerator(0), "cuda");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // No driver, no device, or a device ILGPU cannot use: treat as "no CUDA".
            context?.Dispose();
            return null;
        }
    }

    public override string Name => _name;

    /// <summary>The accelerator's description, for logs and benchmark reports.</summary>
    public string DeviceName => _accelerator.Name;

    public override void Synchronize()
    {
        ThrowIfDisposed();
        _accelerator.Synchronize();
    }

    protected override DeviceBuffer<T> AllocateCore<T>(int length) => new IlgpuBuffer<T>(this, _accelerator, length);

    protected override bool Owns<T>(DeviceBuffer<T> buffer) => buffer is IlgpuBuffer<T> b && ReferenceEquals(b.Backend, this);

    protected override void DisposeCore()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }

    private static ArrayView<T> V<T>(DeviceBuffer<T> buffer) where T : unmanaged => ((IlgpuBuffer<T>)buffer).View;

    private GridStride Range(long count) => GridStride.For(count, _gridThreads);

    /// <summary>Threads to launch for a range: the stride, or none for an empty range.</summary>
    private static Index1D Threads(GridStride range) => new(range.Count == 0 ? 0 : range.Stride);
}
