using System.Buffers;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Kernels;

/// <summary>
/// A dense layer's weight and bias gradients summed in a fixed binary-tree order over the parts of a batch, so that
/// the sum does not depend on how the parts are spread over ranks (<see cref="TreeOrderedGradient"/>, docs/reproducible.md).
/// The CPU backend runs the kernel on its buffers; other backends copy the two inputs to the host, run the same kernel
/// there and copy the gradients back, so every backend gives the CPU's bits.
/// </summary>
internal static class TreeOrderedGradientOps
{
    /// <summary>
    /// weightGradient = Xᵀ dZ and biasGradient = the column sums of dZ (both overwritten) over the rows of the parts
    /// that end at <paramref name="partEnds"/> (part p is rows [partEnds[p - 1], partEnds[p]), part 0 starts at row 0):
    /// each part summed in row order, the parts added as a binary tree, ((g0 + g1) + (g2 + g3)) + ....
    /// </summary>
    /// <param name="backend">The backend that created the buffers.</param>
    /// <param name="input">The layer's input X, rows x inFeatures.</param>
    /// <param name="outputGradient">dL/dz (ReLU's gradient already applied), rows x outFeatures.</param>
    /// <param name="weightGradient">Receives dL/dW, inFeatures x outFeatures.</param>
    /// <param name="biasGradient">Receives dL/db, outFeatures.</param>
    /// <param name="partEnds">Each part's end row, not decreasing, none negative.</param>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <exception cref="ArgumentException">A buffer is too short or belongs to another backend, or partEnds decreases.</exception>
    public static void TreeOrderedDenseGradients(this IKernelBackend backend, DeviceBuffer<float> input, DeviceBuffer<float> outputGradient,
        DeviceBuffer<float> weightGradient, DeviceBuffer<float> biasGradient, ReadOnlySpan<int> partEnds, int inFeatures, int outFeatures)
    {
        var kernels = KernelBackendBase.Of(backend);
        int rows = partEnds.Length == 0 ? 0 : partEnds[^1];
        for (int p = 0; p < partEnds.Length; p++)
        {
            if (partEnds[p] < (p == 0 ? 0 : partEnds[p - 1]))
                ThrowHelper.ThrowArgument(nameof(partEnds), $"partEnds[{p}] = {partEnds[p]} is below the previous part's end {(p == 0 ? 0 : partEnds[p - 1])}: parts are consecutive runs of rows.");
        }
        KernelBackendBase.Layer(rows, inFeatures, outFeatures);
        kernels.AtLeast(input, (long)rows * inFeatures, "rows * inFeatures");
        kernels.AtLeast(outputGradient, (long)rows * outFeatures, "rows * outFeatures");
        kernels.AtLeast(weightGradient, (long)inFeatures * outFeatures, "inFeatures * outFeatures");
        kernels.AtLeast(biasGradient, outFeatures, "outFeatures");
        kernels.TreeOrderedDenseGradientsCore(input, outputGradient, weightGradient, biasGradient, partEnds, rows, inFeatures, outFeatures);
    }
}

/// <summary>The raw operation of <see cref="TreeOrderedGradientOps"/>: the CPU kernel on host copies, unless a backend overrides it.</summary>
internal abstract partial class KernelBackendBase
{
    internal virtual void TreeOrderedDenseGradientsCore(DeviceBuffer<float> input, DeviceBuffer<float> outputGradient, DeviceBuffer<float> weightGradient,
        DeviceBuffer<float> biasGradient, ReadOnlySpan<int> partEnds, int rows, int inFeatures, int outFeatures)
    {
        var pool = ArrayPool<float>.Shared;
        float[] x = pool.Rent(rows * inFeatures), dz = pool.Rent(rows * outFeatures);
        float[] dw = pool.Rent(inFeatures * outFeatures), db = pool.Rent(outFeatures);
        try
        {
            input.CopyTo(x.AsSpan(0, rows * inFeatures));
            outputGradient.CopyTo(dz.AsSpan(0, rows * outFeatures));
            TreeOrderedGradient.Compute(x, dz, dw, db, partEnds, inFeatures, outFeatures, Environment.ProcessorCount);
            weightGradient.CopyFrom(dw.AsSpan(0, inFeatures * outFeatures));
            biasGradient.CopyFrom(db.AsSpan(0, outFeatures));
        }
        finally
        {
            pool.Return(x);
            pool.Return(dz);
            pool.Return(dw);
            pool.Return(db);
        }
    }
}
