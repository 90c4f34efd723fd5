using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// One instance of each backend for the whole run (ILGPU compiles each kernel once per accelerator). Every kernel test
/// is a theory over these names: the CPU path always, ILGPU's CPU accelerator always (it runs the GPU kernels without a
/// GPU), and CUDA when a device is present.
/// </summary>
public sealed class Backends : IDisposable
{
    private static readonly Lazy<Backends> s_shared = new(() => new Backends());
    private readonly Dictionary<string, IKernelBackend> _byName = new();

    private Backends()
    {
        _byName["cpu"] = KernelBackends.Create("cpu");
        _byName["ilgpu-cpu"] = KernelBackends.Create("ilgpu-cpu");
        if (KernelBackends.IsCudaAvailable()) _byName["cuda"] = KernelBackends.Create("cuda");
    }

    public static IKernelBackend Get(string name) => s_shared.Value._byName[name];

    public static IKernelBackend Cpu => Get("cpu");

    /// <summary>Theory data: every available backend name.</summary>
    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string> { "cpu", "ilgpu-cpu" };
            if (s_shared.Value._byName.ContainsKey("cuda")) data.Add("cuda");
            return data;
        }
    }

    /// <summary>Theory data: the backends that run GPU kernels (compared against the CPU path).</summary>
    public static TheoryData<string> Gpu
    {
        get
        {
            var data = new TheoryData<string> { "ilgpu-cpu" };
            if (s_shared.Value._byName.ContainsKey("cuda")) data.Add("cuda");
            return data;
        }
    }

    public void Dispose()
    {
        foreach (var b in _byName.Values) b.Dispose();
    }
}

/// <summary>Helpers to move arrays in and out of backends.</summary>
internal static class BufferExtensions
{
    public static DeviceBuffer<T> Upload<T>(this IKernelBackend backend, T[] data) where T : unmanaged
    {
        var buffer = backend.Allocate<T>(data.Length);
        buffer.CopyFrom(data);
        return buffer;
    }

    public static float[] RandomFloats(this Random random, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return a;
    }
}
