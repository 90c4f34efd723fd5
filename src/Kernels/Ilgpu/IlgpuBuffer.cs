using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>A buffer of the ILGPU backend: accelerator memory (device memory under CUDA).</summary>
internal sealed class IlgpuBuffer<T> : DeviceBuffer<T> where T : unmanaged
{
    private readonly IlgpuBackend _backend;
    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;
    private readonly int _length;

    public IlgpuBuffer(IlgpuBackend backend, Accelerator accelerator, int length)
    {
        _backend = backend;
        _length = length;
        // ILGPU does not allocate empty buffers; an empty buffer keeps one unused element.
        _buffer = accelerator.Allocate1D<T>(Math.Max(1, length));
        _buffer.MemSetToZero();
    }

    /// <summary>The first <see cref="Length"/> elements, as kernels take them.</summary>
    public ArrayView<T> View => (_buffer ?? throw new ObjectDisposedException(nameof(IlgpuBuffer<T>))).View.SubView(0, _length);

    public override int Length => _length;

    public override IKernelBackend Backend => _backend;

    public override void CopyFrom(ReadOnlySpan<T> source)
    {
        CheckCopyLength(source.Length, nameof(source));
        if (source.Length == 0) return;
        View.SubView(0, source.Length).CopyFromCPU(ref MemoryMarshal.GetReference(source), source.Length);
    }

    public override void CopyTo(Span<T> destination)
    {
        CheckCopyLength(destination.Length, nameof(destination));
        if (destination.Length == 0) return;
        _backend.Synchronize();
        View.SubView(0, destination.Length).CopyToCPU(ref MemoryMarshal.GetReference(destination), destination.Length);
    }

    public override void Clear() => View.MemSetToZero();

    protected override void Dispose(bool disposing)
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}
