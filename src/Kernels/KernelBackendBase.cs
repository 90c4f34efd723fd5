namespace AllReduceNet.Kernels;

/// <summary>
/// What both backends share: buffers, disposal, the transfer counter and the argument checks that the kernel families
/// (<see cref="OptimizerOps"/> and the others) run before a backend's raw operation. Each family's file declares the
/// raw operations of this class that a backend overrides, in its own file of the family.
/// </summary>
internal abstract partial class KernelBackendBase : IKernelBackend
{
    private bool _disposed;

    public abstract string Name { get; }

    public DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.ThrowIfNegative(length);
        return AllocateCore<T>(length);
    }

    public abstract void Synchronize();

    public TransferCounter Transfers { get; } = new();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeCore();
    }

    protected abstract DeviceBuffer<T> AllocateCore<T>(int length) where T : unmanaged;
    protected abstract void DisposeCore();

    /// <summary>True when this backend created the buffer (each backend recognises its own buffer type).</summary>
    protected abstract bool Owns<T>(DeviceBuffer<T> buffer) where T : unmanaged;

    /// <summary>The backend behind <paramref name="backend"/>: only AllReduceNet's own backends run its kernels.</summary>
    internal static KernelBackendBase Of(IKernelBackend backend, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(backend))] string? name = null)
    {
        ThrowHelper.ThrowIfNull(backend, name);
        if (backend is KernelBackendBase own) return own;
        ThrowHelper.ThrowArgument(name!, $"{name} is a {backend.GetType().Name}; kernels run only on backends made by KernelBackends.Create.");
        return null!;
    }

    // ---- Checks -------------------------------------------------------------------------------------------------------

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    internal DeviceBuffer<T> Own<T>(DeviceBuffer<T> buffer, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(buffer))] string? name = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.ThrowIfNull(buffer, name);
        if (!Owns(buffer))
            ThrowHelper.ThrowArgument(name!, $"{name} was created by backend '{buffer.Backend.Name}', not by this '{Name}' backend.");
        return buffer;
    }

    internal void AtLeast<T>(DeviceBuffer<T> buffer, long required, string expectation,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(buffer))] string? name = null) where T : unmanaged
    {
        Own(buffer, name);
        ThrowHelper.ThrowIfTooShort(buffer.Length, required, name!, expectation);
    }

    internal void Slice<T>(DeviceBuffer<T> buffer, int offset, int count, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(buffer))] string? name = null) where T : unmanaged
    {
        Own(buffer, name);
        ThrowHelper.ThrowIfNegative(offset);
        ThrowHelper.ThrowIfNegative(count);
        if ((long)offset + count > buffer.Length)
            ThrowHelper.ThrowOutOfRange(name!, offset, $"{name} slice [{offset}, {(long)offset + count}) runs past its length {buffer.Length}.");
    }

    internal long Matrix(DeviceBuffer<float> rows, int rowCount, int rowLength, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(rows))] string? name = null)
    {
        ThrowHelper.ThrowIfNegative(rowCount);
        ThrowHelper.ThrowIfNegative(rowLength);
        long total = ThrowHelper.CheckedElements(rowCount, rowLength, nameof(rowCount), nameof(rowLength));
        AtLeast(rows, total, "rowCount * rowLength", name);
        return total;
    }

    internal static void Layer(int batch, int inFeatures, int outFeatures)
    {
        ThrowHelper.ThrowIfNegative(batch);
        ThrowHelper.ThrowIfNotPositive(inFeatures);
        ThrowHelper.ThrowIfNotPositive(outFeatures);
        ThrowHelper.CheckedElements(batch, inFeatures, nameof(batch), nameof(inFeatures));
        ThrowHelper.CheckedElements(batch, outFeatures, nameof(batch), nameof(outFeatures));
        ThrowHelper.CheckedElements(inFeatures, outFeatures, nameof(inFeatures), nameof(outFeatures));
    }
}
