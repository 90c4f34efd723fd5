namespace AllReduceNet.Kernels;

/// <summary>
/// A one-dimensional buffer of <typeparamref name="T"/> that lives where a backend computes: managed memory for the
/// CPU backend, accelerator memory for ILGPU. Buffers are created by <see cref="IKernelBackend.Allocate{T}(int)"/> and
/// may only be passed to the backend that created them.
/// </summary>
/// <typeparam name="T">An unmanaged element type (the kernels use <see cref="float"/> and <see cref="int"/>).</typeparam>
public abstract class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    /// <summary>The number of elements.</summary>
    public abstract int Length { get; }

    /// <summary>The backend that created this buffer.</summary>
    public abstract IKernelBackend Backend { get; }

    /// <summary>Copies <paramref name="source"/> into the first <c>source.Length</c> elements of this buffer.</summary>
    /// <param name="source">Host data; its length must not exceed <see cref="Length"/>.</param>
    /// <exception cref="ArgumentException">The source is longer than the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public abstract void CopyFrom(ReadOnlySpan<T> source);

    /// <summary>Copies the first <c>destination.Length</c> elements of this buffer into <paramref name="destination"/>.</summary>
    /// <param name="destination">Host memory; its length must not exceed <see cref="Length"/>.</param>
    /// <exception cref="ArgumentException">The destination is longer than the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public abstract void CopyTo(Span<T> destination);

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
    protected abstract void Dispose(bool disposing);

    /// <summary>Throws unless <paramref name="length"/> fits this buffer; used by the copy methods.</summary>
    /// <param name="length">The host span length.</param>
    /// <param name="name">The host argument name.</param>
    protected void CheckCopyLength(int length, string name)
    {
        if (length > Length)
            ThrowHelper.ThrowArgument(name, $"{name} has length {length}, but the buffer holds only {Length} elements.");
    }
}
