namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>The four stages of one secure aggregation round (Bonawitz et al. 2017, rounds 0 to 3 of Figure 4).</summary>
public enum SecAggStage
{
    /// <summary>Round 0: each client sends its two fresh public keys (channel key c, mask key s), signed when a PKI is set.</summary>
    AdvertiseKeys = 0,

    /// <summary>Round 1: each client sends Shamir shares of its mask key and self-mask seed, encrypted to each neighbour.</summary>
    ShareKeys = 1,

    /// <summary>Round 2: each client sends its quantized input plus pairwise masks and its self-mask, modulo 2^32.</summary>
    MaskedInput = 2,

    /// <summary>Round 3: each survivor sends self-mask shares of survivors and mask-key shares of dropouts.</summary>
    Unmasking = 3,
}
