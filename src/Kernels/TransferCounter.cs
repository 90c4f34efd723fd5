namespace AllReduceNet.Kernels;

/// <summary>
/// Counts the copies between host memory and one backend's buffers (<see cref="DeviceBuffer{T}.CopyFrom(ReadOnlySpan{T})"/>,
/// <see cref="DeviceBuffer{T}.CopyTo(Span{T})"/> and the backend's own), so a caller can check what crosses the
/// host/device boundary, for instance that a training step moves only its gradient buckets. Like its backend it is
/// not thread-safe.
/// </summary>
public sealed class TransferCounter
{
    /// <summary>Copies from host memory into a buffer.</summary>
    public long HostToDeviceCopies { get; private set; }

    /// <summary>Bytes copied from host memory into buffers.</summary>
    public long HostToDeviceBytes { get; private set; }

    /// <summary>Copies from a buffer to host memory.</summary>
    public long DeviceToHostCopies { get; private set; }

    /// <summary>Bytes copied from buffers to host memory.</summary>
    public long DeviceToHostBytes { get; private set; }

    /// <summary>Sets every count to zero.</summary>
    public void Reset() => HostToDeviceCopies = HostToDeviceBytes = DeviceToHostCopies = DeviceToHostBytes = 0;

    internal void CountHostToDevice(long bytes)
    {
        HostToDeviceCopies++;
        HostToDeviceBytes += bytes;
    }

    internal void CountDeviceToHost(long bytes)
    {
        DeviceToHostCopies++;
        DeviceToHostBytes += bytes;
    }
}
