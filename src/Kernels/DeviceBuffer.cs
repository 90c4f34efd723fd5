using System.Runtime.CompilerServices;

namespace AllReduceNet.Kernels;

/// <summary>
/// A one-dimensional buffer of <typeparamref name="T"/> that lives where a backend computes: managed memory for the
/// CPU backend, accelerator memory for ILGPU. Buffers are created by <see cref="IKernelBackend.Allocate{T}(int)"/> and
/// may only be passed to the backend that created them.
/// </summary>
/// <typeparam name="T">An unmanaged element type (the kernels use <see cref="float"/> and <see cref="int"/>).</typeparam>
public abstract class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    // Only this assembly's backends derive buffers: every kernel rejects a buffer its backend did not create.
    private protected DeviceBuffer() { }

    /// <summary>The number of elements.</summary>
    public abstract int Length { get; }

    /// <summary>The backend that created this buffer.</summary>
    public abstract IKernelBackend Backend { get; }

    /// <summary>Copies <paramref name="source"/> into the first <c>source.Length</c> elements of this buffer.</summary>
    /// <param name="source">Host data; its length must not exceed <see cref="Length"/>.</param>
    /// <exception cref="ArgumentException">The source is longer than the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void CopyFrom(ReadOnlySpan<T> source) => CopyFrom(source, 0);

    /// <summary>Copies <paramref name="source"/> into elements [offset, offset + source.Length) of this buffer.</summary>
    /// <param name="source">Host data.</param>
    /// <param name="offset">First element written, at least 0.</param>
    /// <exception cref="ArgumentException">The range runs past the end of the buffer.</exception>
    /// <exception cref="ArgumentOutOfRangeException">offset is negative.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void CopyFrom(ReadOnlySpan<T> source, int offset)
    {
        CheckRange(offset, source.Length, nameof(source));
        CopyFromCore(source, offset);
        Backend.Transfers.CountHostToDevice((long)source.Length * Unsafe.SizeOf<T>());
    }

    /// <summary>Copies the first <c>destination.Length</c> elements of this buffer into <paramref name="destination"/>.</summary>
    /// <param name="destination">Host memory; its length must not exceed <see cref="Length"/>.</param>
    /// <exception cref="ArgumentException">The destination is longer than the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void CopyTo(Span<T> destination) => CopyTo(0, destination);

    /// <summary>Copies elements [offset, offset + destination.Length) of this buffer into <paramref name="destination"/>.</summary>
    /// <param name="offset">First element read, at least 0.</param>
    /// <param name="destination">Host memory.</param>
    /// <exception cref="ArgumentException">The range runs past the end of the buffer.</exception>
    /// <exception cref="ArgumentOutOfRangeException">offset is negative.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void CopyTo(int offset, Span<T> destination)
    {
        CheckRange(offset, destination.Length, nameof(destination));
        CopyToCore(offset, destination);
        Backend.Transfers.CountDeviceToHost((long)destination.Length * Unsafe.SizeOf<T>());
    }

    /// <summary>
    /// The buffer's own memory when the host can address it directly (the CPU backend's arrays), so a collective can
    /// work on it in place instead of on a copy; false for accelerator memory. Whatever reads or writes it must not
    /// overlap a kernel that uses the buffer.
    /// </summary>
    internal virtual bool TryGetHostMemory(out Memory<T> memory)
    {
        memory = default;
        return false;
    }

    /// <summary>Copies host data into the buffer; the range was checked.</summary>
    /// <param name="source">Host data.</param>
    /// <param name="offset">First element written.</param>
    private protected abstract void CopyFromCore(ReadOnlySpan<T> source, int offset);

    /// <summary>Copies buffer elements to the host; the range was checked.</summary>
    /// <param name="offset">First element read.</param>
    /// <param name="destination">Host memory.</param>
    private protected abstract void CopyToCore(int offset, Span<T> destination);

    /// <summary>Copies the whole buffer to a new host array.</summary>
    /// <returns>An array of <see cref="Length"/> elements.</returns>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public T[] ToArray()
    {
        var result = new T[Length];
        CopyTo(result);
        return result;
    }

    /// <summary>Sets every element to <c>default(T)</c> (zero).</summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public abstract void Clear();

    /// <summary>Releases the memory. Using the buffer afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the memory held by a derived buffer.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    private protected abstract void Dispose(bool disposing);

    private void CheckRange(int offset, int length, string name)
    {
        ThrowHelper.ThrowIfNegative(offset);
        if ((long)offset + length > Length)
            ThrowHelper.ThrowArgument(name, $"{name} has length {length}; at offset {offset} that runs past the buffer's {Length} elements.");
    }
}
