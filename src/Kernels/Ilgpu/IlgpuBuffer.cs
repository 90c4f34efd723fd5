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
    public ArrayView<T> View => (_buffer ?? ThrowHelper.ThrowDisposed<MemoryBuffer1D<T, Stride1D.Dense>>(nameof(DeviceBuffer<T>))).View.SubView(0, _length);

    public override int Length => _length;

    public override IKernelBackend Backend => _backend;

    private protected override void CopyFromCore(ReadOnlySpan<T> source, int offset)
    {
        if (source.Length == 0) return;
        // Kernels already queued may still read this range: the synchronous copy runs after them on the same stream.
        // The span overload pins the host memory (fixed) for the copy. The (ref T, length) overload used before did not:
        // ILGPU turns the reference into a raw pointer (Unsafe.AsPointer), allocates a wrapper buffer, then copies, and
        // a GC in between (any thread's allocation can start one) moves an unpinned array, so the copy read the array's
        // old address; see CopyToCore.
        View.SubView(offset, source.Length).CopyFromCPU(source);
    }

    private protected override void CopyToCore(int offset, Span<T> destination)
    {
        if (destination.Length == 0) return;
        _backend.Synchronize();
        // The span overload pins the destination (fixed) while ILGPU copies through a raw pointer. Passing
        // ref MemoryMarshal.GetReference(destination) did not pin it: when a GC moved a fresh ToArray() array during the
        // copy, the data went to the array's old address and the caller read zeros (the flaky "read 0" Kernels tests).
        View.SubView(offset, destination.Length).CopyToCPU(destination);
    }

    public override void Clear() => View.MemSetToZero();

    private protected override void Dispose(bool disposing)
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}
