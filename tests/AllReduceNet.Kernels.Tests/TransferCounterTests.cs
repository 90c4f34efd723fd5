using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

public class TransferCounterTests
{
    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Counts_copies_and_bytes_each_way_and_not_kernels(string name)
    {
        var backend = Backends.Get(name);
        using var floats = backend.Allocate<float>(10);
        using var ints = backend.Allocate<int>(4);
        backend.Transfers.Reset();
        floats.CopyFrom(new float[6], 2);
        ints.CopyFrom(new int[4]);
        backend.Scale(floats, 2f);            // runs where the buffer lives: no transfer
        var back = floats.ToArray();
        Assert.Equal(2, backend.Transfers.HostToDeviceCopies);
        Assert.Equal((6 + 4) * 4, backend.Transfers.HostToDeviceBytes);
        Assert.Equal(1, backend.Transfers.DeviceToHostCopies);
        Assert.Equal(back.Length * 4, backend.Transfers.DeviceToHostBytes);
        backend.Transfers.Reset();
        Assert.Equal(0, backend.Transfers.HostToDeviceBytes + backend.Transfers.DeviceToHostBytes);
    }
}
