using System.Reflection;
using AllReduceNet.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// No GPU is needed to know that every kernel compiles for CUDA: ILGPU's PTX backend runs on any machine. This
/// catches what the CPU accelerator would let through (unsupported intrinsics, managed types in kernels), and checks
/// the tiled matrix product really uses shared memory and barriers.
/// </summary>
public class PtxCompilationTests
{
    public static TheoryData<string> Kernels
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var m in KernelMethods()) data.Add($"{m.DeclaringType!.Name}.{m.Name}");
            return data;
        }
    }

    private static IEnumerable<MethodInfo> KernelMethods() =>
        new[] { typeof(OptimizerKernels), typeof(ReductionKernels), typeof(MaskingKernels), typeof(PrivacyKernels), typeof(DenseKernels) }
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.ReturnType == typeof(void));

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Kernel_CompilesToPtxForSm70(string kernel)
    {
        var method = KernelMethods().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == kernel);
        using var context = Context.Create(b => IlgpuBackend.Configure(b.Default()));
        var arch = CudaArchitecture.SM_70;
        using var backend = new PTXBackend(context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_70, null);
        bool implicitlyGrouped = method.GetParameters()[0].ParameterType == typeof(Index1D);
        var entry = implicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(method)
            : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, new KernelSpecialization(null, null));
        Assert.Contains(".entry", compiled.PTXAssembly);
        if (method.Name == nameof(DenseKernels.MatMulTiled))
        {
            Assert.Contains(".shared", compiled.PTXAssembly);
            Assert.Contains("bar.sync", compiled.PTXAssembly);
        }
    }
}
