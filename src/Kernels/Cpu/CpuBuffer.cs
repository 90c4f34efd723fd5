namespace AllReduceNet.Kernels.Cpu;

/// <summary>A buffer of the CPU backend: a managed array.</summary>
internal sealed class CpuBuffer<T> : DeviceBuffer<T> where T : unmanaged
{
    private readonly CpuBackend _backend;
    private T[]? _array;

    public CpuBuffer(CpuBackend backend, int length)
    {
        _backend = backend;
        _array = new T[length];
    }

    /// <summary>The backing array.</summary>
    public T[] Array => _array ?? throw new ObjectDisposedException(nameof(CpuBuffer<T>));

    public override int Length => Array.Length;

    public override IKernelBackend Backend => _backend;

    public override void CopyFrom(ReadOnlySpan<T> source)
    {
        CheckCopyLength(source.Length, nameof(source));
        source.CopyTo(Array);
    }

    public override void CopyTo(Span<T> destination)
    {
        CheckCopyLength(destination.Length, nameof(destination));
        Array.AsSpan(0, destination.Length).CopyTo(destination);
    }

    public override void Clear() => System.Array.Clear(Array);

    protected override void Dispose(bool disposing) => _array = null;
}
