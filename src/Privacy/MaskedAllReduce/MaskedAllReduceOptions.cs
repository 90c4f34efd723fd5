namespace AllReduceNet.Privacy;

/// <summary>
/// Settings of a <see cref="MaskedAllReduce"/>. Every rank must pass the same values (checked when it is created).
/// The fixed-point format is that of the masking kernels (<see cref="AllReduceNet.Kernels.FixedPointFormat"/>):
/// x becomes q = floor(clamp(x, -ClipRange, ClipRange) * 2^FractionalBits + 1/2) in 32 bits, sums wrap modulo 2^32.
/// docs/masked-allreduce.md states the error bound and the threat model.
/// </summary>
public sealed record MaskedAllReduceOptions
{
    /// <summary>The defaults: clip range 1, the finest fractional bits that cannot overflow, masks between all pairs.</summary>
    public static MaskedAllReduceOptions Default { get; } = new();

    /// <summary>Inputs are clamped to [-ClipRange, ClipRange] before quantization; finite and positive. Default 1.</summary>
    public float ClipRange { get; init; } = 1f;

    /// <summary>
    /// Bits after the binary point, 0..30; null (the default) takes the most that cannot overflow for this clip range
    /// and rank count. Settings where ranks x (ClipRange x 2^FractionalBits + 1/2) exceeds 2^31 - 1 are refused.
    /// </summary>
    public int? FractionalBits { get; init; }

    /// <summary>
    /// Null (the default): every pair of ranks shares a mask, which protects against coalitions of up to N - 2
    /// honest-but-curious ranks. k: each rank masks only with the k ranks on either side of it in rank order
    /// (2k peers, 2k PRG expansions instead of N - 1), which protects against coalitions of up to 2k - 1 ranks
    /// (docs/masked-allreduce.md). When 2k &gt;= N - 1 this is all pairs anyway. With k = 1, and with all pairs, the
    /// fused ring leaves out the masks between ranks next to each other on a chunk's path (2/N, or (N - 1)(N - 2)/N, mask
    /// words per element a rank), which keeps the same guarantee (<see cref="RingMaskPlan"/>).
    /// </summary>
    public int? Neighbours { get; init; }

    /// <summary>
    /// True (the default): on the ring, and on Auto with in-process ranks, with <see cref="MaxThreads"/> 1, quantize,
    /// mask and dequantize segment by segment inside the ring (<see cref="MaskedRing"/>); Auto under MPI keeps the
    /// unfused passes, which are faster there. False: always as separate passes around the integer AllReduce (the
    /// earlier path, kept to compare against). Both give the same bits; every rank must pass the same value.
    /// </summary>
    public bool FuseIntoRing { get; init; } = true;

    /// <summary>
    /// The generator that expands each pair's seed into its mask: <see cref="MaskGenerator.ChaCha8"/> (the default, a
    /// stream cipher) or <see cref="MaskGenerator.Philox"/> (the kernels' generator, faster on GPUs, not cryptographic).
    /// Every rank must pass the same value.
    /// </summary>
    public MaskGenerator Generator { get; init; } = MaskGenerator.ChaCha8;

    /// <summary>Threads one call may use to quantize, mask and dequantize; default 1 (ranks are usually one per core already).</summary>
    public int MaxThreads { get; init; } = 1;
}
