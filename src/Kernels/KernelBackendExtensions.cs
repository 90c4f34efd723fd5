namespace AllReduceNet.Kernels;

/// <summary>Conveniences over <see cref="IKernelBackend"/>.</summary>
public static class KernelBackendExtensions
{
    /// <summary>Allocates a buffer of <c>data.Length</c> elements on <paramref name="backend"/> and copies <paramref name="data"/> into it.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="backend">The backend that will own the buffer.</param>
    /// <param name="data">Host data.</param>
    /// <returns>The new buffer; dispose it when done.</returns>
    /// <exception cref="ArgumentNullException">backend is null.</exception>
    /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
    public static DeviceBuffer<T> Upload<T>(this IKernelBackend backend, ReadOnlySpan<T> data) where T : unmanaged
    {
        ThrowHelper.ThrowIfNull(backend);
        var buffer = backend.Allocate<T>(data.Length);
        buffer.CopyFrom(data);
        return buffer;
    }
}
