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
    public T[] Array => _array ?? ThrowHelper.ThrowDisposed<T[]>(nameof(DeviceBuffer<T>));

    public override int Length => Array.Length;

    public override IKernelBackend Backend => _backend;

    private protected override void CopyFromCore(ReadOnlySpan<T> source, int offset) => source.CopyTo(Array.AsSpan(offset));

    private protected override void CopyToCore(int offset, Span<T> destination) => Array.AsSpan(offset, destination.Length).CopyTo(destination);

    internal override bool TryGetHostMemory(out Memory<T> memory)
    {
        memory = Array;
        return true;
    }

    public override void Clear() => System.Array.Clear(Array);

    private protected override void Dispose(bool disposing) => _array = null;
}
