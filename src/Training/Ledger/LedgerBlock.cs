namespace AllReduceNet.Training.Ledger;

/// <summary>One accepted update: the peer and the SHA-256 of the fixed-point vector it secret-shared.</summary>
internal sealed record AcceptedUpdate(int Peer, byte[] Digest);

/// <summary>A verifier's ECDSA P-256 signature (IEEE P1363, r then s) over the round's accepted set.</summary>
internal sealed record VerifierSignature(int Peer, byte[] Signature);

/// <summary>What only the genesis block holds: the peers' public signing keys, initial stakes, and how many peers each role takes.</summary>
/// <param name="PublicKeys">Peer i's ECDSA P-256 public key, X then Y (64 bytes).</param>
/// <param name="Stakes">Peer i's stake before the first round.</param>
/// <param name="Noisers">Noisers drawn each round.</param>
/// <param name="Verifiers">Verifiers drawn each round.</param>
/// <param name="Aggregators">Aggregators drawn each round.</param>
internal sealed record GenesisSection(byte[][] PublicKeys, long[] Stakes, int Noisers, int Verifiers, int Aggregators);

/// <summary>
/// One block of the ledger (Biscotti's block, docs/ledger.md). Block 0 is genesis: the peers' keys and stakes, and as
/// payload the initial model. Block r &gt; 0 records round r: the hash of block r - 1, the round's roles, the updates
/// the verifiers accepted (peer and digest) with their signatures, the peers whose shares the aggregate holds, and as
/// payload the aggregate delta; the model after block r is the model after block r - 1 plus the delta. The block's
/// hash covers everything but the payload, which it covers through <see cref="DeltaDigest"/>.
/// </summary>
internal sealed record LedgerBlock(
    long Round,
    byte[] PreviousHash,
    GenesisSection? Genesis,
    RoundRoles Roles,
    AcceptedUpdate[] Accepted,
    int[] Contributors,
    byte[] DeltaDigest,
    byte[] ModelDigest,
    VerifierSignature[] Signatures,
    float[] Payload)
{
    /// <summary>SHA-256 of the canonical header encoding (<see cref="LedgerBlockCodec.EncodeHeader"/>). Computed on each
    /// call rather than cached: a record copy made with <c>with</c> must never carry the original's hash.</summary>
    public byte[] Hash => LedgerDigest.Of(LedgerBlockCodec.EncodeHeader(this));

    /// <summary>The hash's short hex form, as messages name a block.</summary>
    public string ShortHash => LedgerDigest.Short(Hash);
}
