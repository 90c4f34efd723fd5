using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>Host side of <see cref="MaskingKernels"/>.</summary>
internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<MaskPeer>, MaskingKernels.Quantization, GridStride>? _mask;
    private Action<Index1D, ArrayView<int>, ArrayView<float>, float, GridStride>? _dequantize;

    internal override void QuantizeAndMaskCore(DeviceBuffer<float> update, DeviceBuffer<int> masked, int n, MaskPeer[] peers, float clip, float scale)
    {
        _mask ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<MaskPeer>, MaskingKernels.Quantization, GridStride>(MaskingKernels.QuantizeAndMask);
        if (n == 0) return;
        using var peerBuffer = _accelerator.Allocate1D<MaskPeer>(Math.Max(1, peers.Length));
        if (peers.Length > 0)
        {
            peerBuffer.View.SubView(0, peers.Length).CopyFromCPU(peers);
            Transfers.CountHostToDevice((long)peers.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<MaskPeer>());
        }
        var q = new MaskingKernels.Quantization { Clip = clip, Scale = scale, Peers = peers.Length };
        var blocks = Range((n + 3L) / 4);
        _mask(Threads(blocks), V(update).SubView(0, n), V(masked).SubView(0, n), peerBuffer.View, q, blocks);
        // The peer buffer is freed at the end of this scope: wait for the kernel that reads it.
        _accelerator.Synchronize();
    }

    internal override void DequantizeCore(DeviceBuffer<int> sum, DeviceBuffer<float> output, int n, float scale)
    {
        _dequantize ??= _accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, float, GridStride>(MaskingKernels.Dequantize);
        var r = Range(n);
        if (n > 0) _dequantize(Threads(r), V(sum), V(output), scale, r);
    }
}
