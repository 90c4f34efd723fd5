namespace AllReduceNet.Kernels.Cpu;

/// <summary>Masked aggregation on the CPU: one Philox block per peer per four elements, as the ILGPU kernel does.</summary>
internal sealed partial class CpuBackend
{
    internal override void QuantizeAndMaskCore(DeviceBuffer<float> update, DeviceBuffer<int> masked, int n, MaskPeer[] peers, float clip, float scale)
    {
        float[] x = A(update);
        int[] q = A(masked);
        // Blocks are multiples of 4 elements so a Philox block never straddles two workers.
        ForBlocks(n, BlockSize, (start, len) =>
        {
            VectorQuantizer.Quantize(x.AsSpan(start, len), q.AsSpan(start, len), clip, scale);
            PhiloxMasking.AddMasks(q, start, len, peers);
        });
    }

    internal override void AddWrappingCore(DeviceBuffer<int> accumulator, DeviceBuffer<int> addend, int n)
    {
        int[] acc = A(accumulator), add = A(addend);
        // Integer addition wraps in C# (unchecked by default); TensorPrimitives.Add on int does the same, vectorized.
        ForBlocks(n, BlockSize, (start, len) =>
            System.Numerics.Tensors.TensorPrimitives.Add<int>(acc.AsSpan(start, len), add.AsSpan(start, len), acc.AsSpan(start, len)));
    }

    internal override void DequantizeCore(DeviceBuffer<int> sum, DeviceBuffer<float> output, int n, float scale)
    {
        int[] s = A(sum);
        float[] o = A(output);
        ForBlocks(n, BlockSize, (start, len) =>
        {
            for (int i = start; i < start + len; i++) o[i] = FixedPoint.Dequantize(s[i], scale);
        });
    }
}
