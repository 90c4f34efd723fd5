using System.Reflection;
using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// Pins what a consumer of the AllReduceNet.Kernels package sees (docs/packages.md, "The public surface"): a type that
/// becomes public by accident, or one that a consumer needs and turns internal, fails here rather than in a release.
/// </summary>
public class PublicSurfaceTests
{
    private static readonly string[] ExpectedPublicTypes =
    [
        "AllReduceNet.Kernels.AdamOptions",
        "AllReduceNet.Kernels.DenseOps",
        "AllReduceNet.Kernels.DeviceBuffer`1",
        "AllReduceNet.Kernels.DifferentialPrivacy",
        "AllReduceNet.Kernels.FixedPointFormat",
        "AllReduceNet.Kernels.IKernelBackend",
        "AllReduceNet.Kernels.KernelBackendExtensions",
        "AllReduceNet.Kernels.KernelBackends",
        "AllReduceNet.Kernels.MaskingOps",
        "AllReduceNet.Kernels.OptimizerOps",
        "AllReduceNet.Kernels.PrivacyOps",
        "AllReduceNet.Kernels.ReductionOps",
        "AllReduceNet.Kernels.Seed128",
        "AllReduceNet.Kernels.SgdOptions",
        "AllReduceNet.Kernels.TransferCounter",
    ];

    [Fact]
    public void ExportedTypes_AreExactlyTheDocumentedSurface()
    {
        var exported = typeof(IKernelBackend).Assembly.GetExportedTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(ExpectedPublicTypes, exported);
    }

    [Fact]
    public void DeviceBuffer_CannotBeDerivedOutsideTheAssembly()
    {
        // A consumer's own buffer type would be rejected by every kernel, so none may be written.
        var type = typeof(DeviceBuffer<float>);
        var visibleToDerived = type.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(c => c.IsPublic || c.IsFamily || c.IsFamilyOrAssembly);
        Assert.Empty(visibleToDerived);
        var overridableOutside = type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(m => m.IsAbstract && (m.IsFamily || m.IsFamilyOrAssembly))
            .Select(m => m.Name);
        Assert.Empty(overridableOutside);
    }
}
