namespace AllReduceNet.Training.Compression;

/// <summary>The gradient compressors of ddp --compress.</summary>
internal enum CompressionKind
{
    /// <summary>IEEE half precision on the wire, summed in half precision along the AllReduce.</summary>
    Fp16,
    /// <summary>bfloat16 on the wire (the top 16 bits of a float), summed in fp32 by the rank that owns each chunk.</summary>
    Bf16,
    /// <summary>Top-k sparsification with error feedback, exchanged by a sparse all-gather.</summary>
    TopK,
    /// <summary>PowerSGD: rank-r approximation of each weight matrix with error feedback.</summary>
    PowerSgd,
}
