using AllReduceNet.Kernels;

// The backends below are shared by every test class, and a backend is not thread-safe (IKernelBackend: one thread at
// a time). xunit runs test classes in parallel, so two classes once drove the ILGPU CPU accelerator at the same time
// and an SGD result came out wrong under CI load; the classes therefore run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// One instance of each backend for the whole run (ILGPU compiles each kernel once per accelerator). Every kernel test
/// is a theory over these names: the CPU path always, ILGPU's CPU accelerator always (it runs the GPU kernels without a
/// GPU), and CUDA when a device is present. They live as long as the test process.
/// </summary>
public sealed class Backends
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
}

/// <summary>Random test data.</summary>
internal static class BufferExtensions
{
    public static float[] RandomFloats(this Random random, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        return a;
    }
}
