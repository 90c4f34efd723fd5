using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

public class FactoryTests
{
    [Fact]
    public void Create_ByName_AndAutoPicksCudaOnlyWhenPresent()
    {
        using (var cpu = KernelBackends.Create("CPU")) Assert.Equal("cpu", cpu.Name);
        using (var emu = KernelBackends.Create("ilgpu-cpu")) Assert.Equal("ilgpu-cpu", emu.Name);
        bool cuda = KernelBackends.IsCudaAvailable();
        using (var auto = KernelBackends.Create("auto")) Assert.Equal(cuda ? "cuda" : "cpu", auto.Name);
        if (cuda)
        {
            using var c = KernelBackends.Create("cuda");
            Assert.Equal("cuda", c.Name);
        }
        else
        {
            var e = Assert.Throws<NotSupportedException>(() => KernelBackends.Create("cuda"));
            Assert.Contains("cuda requested but no CUDA device found", e.Message);
        }
        var bad = Assert.Throws<ArgumentException>(() => KernelBackends.Create("opencl"));
        Assert.Contains("'opencl'", bad.Message);
    }

    [Fact]
    public void DisposedBackend_Throws()
    {
        var b = KernelBackends.Create("cpu");
        var x = b.Allocate<float>(3);
        b.Dispose();
        Assert.Throws<ObjectDisposedException>(() => b.Scale(x, 2f));
        Assert.Throws<ObjectDisposedException>(() => b.Allocate<float>(1));
        x.Dispose();
        Assert.Throws<ObjectDisposedException>(() => x.ToArray());
    }
}
