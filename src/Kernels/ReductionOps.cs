namespace AllReduceNet.Kernels;

/// <summary>
/// The reduction kernels: element-wise add, scale, copy and fixed-order sums of buffers, what a device-resident AllReduce needs. Each method checks its arguments here, once for every backend (so all
/// backends fail with the same messages), then calls the raw operation below, which each backend implements in its
/// file of this family (Cpu/CpuBackend.*.cs, Ilgpu/IlgpuBackend.*.cs). Every method throws
/// <see cref="ArgumentException"/> for a buffer that is too short or that another backend created, and
/// <see cref="ObjectDisposedException"/> after the backend was disposed.
/// </summary>
public static class ReductionOps
{
    /// <summary>accumulator[i] += addend[i] for i &lt; accumulator.Length.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="accumulator">Updated in place.</param>
    /// <param name="addend">At least accumulator.Length elements.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Add(this IKernelBackend backend, DeviceBuffer<float> accumulator, DeviceBuffer<float> addend)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(accumulator).Length;
        kernels.AtLeast(addend, n, "accumulator.Length");
        kernels.AddCore(accumulator, 0, addend, 0, n);
    }

    /// <summary>buffer[i] *= factor.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="buffer">Updated in place.</param>
    /// <param name="factor">Any float.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Scale(this IKernelBackend backend, DeviceBuffer<float> buffer, float factor)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(buffer).Length;
        kernels.ScaleCore(buffer, 0, n, factor);
    }

    /// <summary>accumulator[accumulatorOffset + i] += addend[addendOffset + i] for i &lt; count: reduces one received
    /// segment into a slice of a device-resident buffer, the step a ring AllReduce repeats.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="accumulator">Updated in place.</param>
    /// <param name="accumulatorOffset">First element of the accumulator slice.</param>
    /// <param name="addend">The values to add.</param>
    /// <param name="addendOffset">First element of the addend slice.</param>
    /// <param name="count">Elements, at least 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">An offset or count is negative, or a slice runs past its buffer.</exception>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Add(this IKernelBackend backend, DeviceBuffer<float> accumulator, int accumulatorOffset, DeviceBuffer<float> addend, int addendOffset, int count)
    {
        var kernels = KernelBackendBase.Of(backend);
        kernels.Slice(accumulator, accumulatorOffset, count);
        kernels.Slice(addend, addendOffset, count);
        kernels.AddCore(accumulator, accumulatorOffset, addend, addendOffset, count);
    }

    /// <summary>buffer[offset + i] *= factor for i &lt; count (for instance 1/N on one chunk after a reduce-scatter).</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="buffer">Updated in place.</param>
    /// <param name="offset">First element of the slice.</param>
    /// <param name="count">Elements, at least 0.</param>
    /// <param name="factor">Any float.</param>
    /// <exception cref="ArgumentOutOfRangeException">offset or count is negative, or the slice runs past the buffer.</exception>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Scale(this IKernelBackend backend, DeviceBuffer<float> buffer, int offset, int count, float factor)
    {
        var kernels = KernelBackendBase.Of(backend);
        kernels.Slice(buffer, offset, count);
        kernels.ScaleCore(buffer, offset, count, factor);
    }

    /// <summary>destination[destinationOffset + i] = source[sourceOffset + i] for i &lt; count, on the device.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="source">Read.</param>
    /// <param name="sourceOffset">First element of the source slice.</param>
    /// <param name="destination">Written; may be the source buffer only if the slices do not overlap.</param>
    /// <param name="destinationOffset">First element of the destination slice.</param>
    /// <param name="count">Elements, at least 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">An offset or count is negative, or a slice runs past its buffer.</exception>
    /// <exception cref="ArgumentException">The slices are in the same buffer and overlap.</exception>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Copy(this IKernelBackend backend, DeviceBuffer<float> source, int sourceOffset, DeviceBuffer<float> destination, int destinationOffset, int count)
    {
        var kernels = KernelBackendBase.Of(backend);
        kernels.Slice(source, sourceOffset, count);
        kernels.Slice(destination, destinationOffset, count);
        if (ReferenceEquals(source, destination) && count > 0 && sourceOffset < destinationOffset + count && destinationOffset < sourceOffset + count)
            ThrowHelper.ThrowArgument(nameof(destination), $"destination slice [{destinationOffset}, {destinationOffset + count}) overlaps source slice [{sourceOffset}, {sourceOffset + count}) of the same buffer.");
        kernels.CopyCore(source, sourceOffset, destination, destinationOffset, count);
    }

    /// <summary>output[i] = ((inputs[0][i] + inputs[1][i]) + inputs[2][i]) + ... in that fixed order, for i &lt; output.Length,
    /// so the result is the same on every backend that rounds alike.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="inputs">One or more buffers, each at least output.Length long; output may be one of them only if it is inputs[0].</param>
    /// <param name="output">Receives the sum.</param>
    /// <exception cref="ArgumentException">inputs is empty.</exception>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Sum(this IKernelBackend backend, IReadOnlyList<DeviceBuffer<float>> inputs, DeviceBuffer<float> output)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(output).Length;
        ThrowHelper.ThrowIfNull(inputs);
        if (inputs.Count == 0) ThrowHelper.ThrowArgument(nameof(inputs), "inputs must hold at least one buffer, but was empty.");
        for (int i = 0; i < inputs.Count; i++)
        {
            kernels.AtLeast(inputs[i], n, "output.Length", $"inputs[{i}]");
            if (i > 0 && ReferenceEquals(inputs[i], output))
                ThrowHelper.ThrowArgument(nameof(output), $"output is inputs[{i}]; it may only alias inputs[0].");
        }
        if (!ReferenceEquals(inputs[0], output)) kernels.CopyCore(inputs[0], 0, output, 0, n);
        for (int i = 1; i < inputs.Count; i++) kernels.AddCore(output, 0, inputs[i], 0, n);
    }

    /// <summary>The <see cref="Sum"/> of the inputs, then scaled by 1 / inputs.Count.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="inputs">One or more buffers, each at least output.Length long.</param>
    /// <param name="output">Receives the mean.</param>
    /// <exception cref="ArgumentException">inputs is empty.</exception>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Average(this IKernelBackend backend, IReadOnlyList<DeviceBuffer<float>> inputs, DeviceBuffer<float> output)
    {
        var kernels = KernelBackendBase.Of(backend);
        backend.Sum(inputs, output);
        kernels.ScaleCore(output, 0, output.Length, 1f / inputs.Count);
    }
}

/// <summary>The raw operations of <see cref="ReductionOps"/> that each backend supplies (arguments already checked).</summary>
internal abstract partial class KernelBackendBase
{
    internal abstract void CopyCore(DeviceBuffer<float> source, int sourceOffset, DeviceBuffer<float> destination, int destinationOffset, int n);
    internal abstract void AddCore(DeviceBuffer<float> accumulator, int accumulatorOffset, DeviceBuffer<float> addend, int addendOffset, int n);
    internal abstract void ScaleCore(DeviceBuffer<float> buffer, int offset, int n, float factor);
}
