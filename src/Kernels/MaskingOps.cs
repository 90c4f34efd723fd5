namespace AllReduceNet.Kernels;

/// <summary>
/// The masked-aggregation kernels (Bonawitz et al. 2017): quantize and mask, wrapping sums, dequantize. Each method checks its arguments here, once for every backend (so all
/// backends fail with the same messages), then calls the raw operation below, which each backend implements in its
/// file of this family (Cpu/CpuBackend.*.cs, Ilgpu/IlgpuBackend.*.cs). Every method throws
/// <see cref="ArgumentException"/> for a buffer that is too short or that another backend created, and
/// <see cref="ObjectDisposedException"/> after the backend was disposed.
/// </summary>
public static class MaskingOps
{
    /// <summary>
    /// Client <paramref name="clientIndex"/>'s masked update: for k &lt; update.Length,
    /// masked[k] = Q(update[k]) + sum over j &gt; i of PRG(s_ij)[k] - sum over j &lt; i of PRG(s_ij)[k], modulo 2^32, where Q is
    /// the quantization of <paramref name="format"/> and PRG(s)[k] is word k of the Philox stream of s
    /// (<see cref="Philox4x32.StreamBlock"/>: lane k % 4 of block k / 4). Summed over all clients the masks cancel exactly.
    /// With a single client (pairSeeds.Length 1) this is plain quantization.
    /// </summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="update">The client's float update, length n.</param>
    /// <param name="masked">Receives n masked integers.</param>
    /// <param name="clientIndex">i, in [0, pairSeeds.Length).</param>
    /// <param name="pairSeeds">pairSeeds[j] = s_ij, the seed client i shares with client j (s_ij = s_ji); entry i is ignored. Its length is the number of clients.</param>
    /// <param name="format">Quantization scale and clipping range.</param>
    /// <exception cref="ArgumentOutOfRangeException">clientIndex is out of range, or there are more clients than format.MaxClients.</exception>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void QuantizeAndMask(this IKernelBackend backend, DeviceBuffer<float> update, DeviceBuffer<int> masked, int clientIndex, ReadOnlySpan<Seed128> pairSeeds, FixedPointFormat format)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(update).Length;
        kernels.AtLeast(masked, n, "update.Length");
        format.Validate();
        if (pairSeeds.Length == 0) ThrowHelper.ThrowArgument(nameof(pairSeeds), "pairSeeds must hold one entry per client, but was empty.");
        ThrowHelper.ThrowIfOutside(clientIndex, 0, pairSeeds.Length - 1);
        if (pairSeeds.Length > format.MaxClients)
            ThrowHelper.ThrowOutOfRange(nameof(pairSeeds), pairSeeds.Length,
                $"pairSeeds.Length = {pairSeeds.Length} clients exceeds format.MaxClients = {format.MaxClients}: the sum could overflow.");
        var peers = new MaskPeer[pairSeeds.Length - 1];
        for (int j = 0, p = 0; j < pairSeeds.Length; j++)
        {
            if (j == clientIndex) continue;
            // Client i adds +PRG(s_ij) for j > i and -PRG(s_ij) for j < i, so each pair's two terms cancel.
            peers[p++] = new MaskPeer { Seed = pairSeeds[j], Sign = j > clientIndex ? 1 : -1 };
        }
        kernels.QuantizeAndMaskCore(update, masked, n, peers, format.ClipRange, format.Scale);
    }

    /// <summary>accumulator[i] += addend[i] modulo 2^32 (two's-complement wrap-around), for i &lt; accumulator.Length.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="accumulator">Updated in place.</param>
    /// <param name="addend">At least accumulator.Length elements.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void AddWrapping(this IKernelBackend backend, DeviceBuffer<int> accumulator, DeviceBuffer<int> addend)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(accumulator).Length;
        kernels.AtLeast(addend, n, "accumulator.Length");
        kernels.AddWrappingCore(accumulator, addend, n);
    }

    /// <summary>output[i] = sum[i] / format.Scale (the server's last step), for i &lt; output.Length.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="sum">Wrapped sum of all clients' masked updates.</param>
    /// <param name="output">Receives the float sum.</param>
    /// <param name="format">The format the clients used.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void Dequantize(this IKernelBackend backend, DeviceBuffer<int> sum, DeviceBuffer<float> output, FixedPointFormat format)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(output).Length;
        kernels.AtLeast(sum, n, "output.Length");
        format.Validate();
        kernels.DequantizeCore(sum, output, n, format.Scale);
    }
}

/// <summary>The raw operations of <see cref="MaskingOps"/> that each backend supplies (arguments already checked).</summary>
internal abstract partial class KernelBackendBase
{
    internal abstract void QuantizeAndMaskCore(DeviceBuffer<float> update, DeviceBuffer<int> masked, int n, MaskPeer[] peers, float clip, float scale);
    internal abstract void AddWrappingCore(DeviceBuffer<int> accumulator, DeviceBuffer<int> addend, int n);
    internal abstract void DequantizeCore(DeviceBuffer<int> sum, DeviceBuffer<float> output, int n, float scale);
}
