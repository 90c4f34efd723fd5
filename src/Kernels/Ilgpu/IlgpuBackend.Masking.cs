using ILGPU;
using ILGPU.Runtime;

namespace AllReduceNet.Kernels.Ilgpu;

/// <summary>The masking family on ILGPU: the launchers, then the device code (<see cref="MaskingKernels"/>), in one file.</summary>
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

/// <summary>
/// Secure-aggregation masking (Bonawitz et al. 2017) as ILGPU kernels. A thread owns one Philox block, i.e. four
/// consecutive elements, so each peer's generator runs once per four elements; the mask of element k depends only on
/// (seed, k), never on which thread computes it.
/// </summary>
internal static class MaskingKernels
{
    public struct Quantization
    {
        public float Clip, Scale;
        public int Peers;
    }

    /// <param name="index">Thread index.</param>
    /// <param name="update">Float update, n elements.</param>
    /// <param name="masked">Receives n masked integers.</param>
    /// <param name="peers">Seeds and signs, q.Peers entries.</param>
    /// <param name="q">Quantization scalars.</param>
    /// <param name="blocks">Range over the ceil(n / 4) Philox blocks.</param>
    public static void QuantizeAndMask(Index1D index, ArrayView<float> update, ArrayView<int> masked, ArrayView<MaskPeer> peers,
        Quantization q, GridStride blocks)
    {
        long n = update.Length;
        for (long b = index.X; b < blocks.Count; b += blocks.Stride)
        {
            long i = b * 4;
            int q0 = FixedPoint.Quantize(update[i], q.Clip, q.Scale);
            int q1 = i + 1 < n ? FixedPoint.Quantize(update[i + 1], q.Clip, q.Scale) : 0;
            int q2 = i + 2 < n ? FixedPoint.Quantize(update[i + 2], q.Clip, q.Scale) : 0;
            int q3 = i + 3 < n ? FixedPoint.Quantize(update[i + 3], q.Clip, q.Scale) : 0;
            for (int j = 0; j < q.Peers; j++)
            {
                MaskPeer peer = peers[j];
                UInt4 w = Philox4x32.StreamBlock(peer.Seed, b);
                if (peer.Sign > 0)
                {
                    q0 = unchecked(q0 + (int)w.X0); q1 = unchecked(q1 + (int)w.X1);
                    q2 = unchecked(q2 + (int)w.X2); q3 = unchecked(q3 + (int)w.X3);
                }
                else
                {
                    q0 = unchecked(q0 - (int)w.X0); q1 = unchecked(q1 - (int)w.X1);
                    q2 = unchecked(q2 - (int)w.X2); q3 = unchecked(q3 - (int)w.X3);
                }
            }
            masked[i] = q0;
            if (i + 1 < n) masked[i + 1] = q1;
            if (i + 2 < n) masked[i + 2] = q2;
            if (i + 3 < n) masked[i + 3] = q3;
        }
    }

    public static void Dequantize(Index1D index, ArrayView<int> sum, ArrayView<float> output, float scale, GridStride range)
    {
        for (long i = index.X; i < range.Count; i += range.Stride) output[i] = FixedPoint.Dequantize(sum[i], scale);
    }
}
