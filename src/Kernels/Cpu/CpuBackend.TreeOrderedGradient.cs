namespace AllReduceNet.Kernels.Cpu;

/// <summary>The tree-ordered dense gradients on the backend's own arrays (no host copies).</summary>
internal sealed partial class CpuBackend
{
    internal override void TreeOrderedDenseGradientsCore(DeviceBuffer<float> input, DeviceBuffer<float> outputGradient, DeviceBuffer<float> weightGradient,
        DeviceBuffer<float> biasGradient, ReadOnlySpan<int> partEnds, int rows, int inFeatures, int outFeatures) =>
        TreeOrderedGradient.Compute(A(input), A(outputGradient), A(weightGradient), A(biasGradient), partEnds, inFeatures, outFeatures, MaxThreads, Workers);
}
