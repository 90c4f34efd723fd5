namespace AllReduceNet.Training.Ledger;

/// <summary>
/// The peers that hold each role in one round, drawn by <see cref="RoleSortition"/> from the previous block: noisers
/// add DP noise to the updates the verifiers see, verifiers run Multi-Krum and sign the accepted set, aggregators sum
/// the accepted updates' Shamir shares and propose the block. Each list is ascending; a peer may hold several roles.
/// </summary>
internal sealed record RoundRoles(int[] Noisers, int[] Verifiers, int[] Aggregators)
{
    public static RoundRoles None { get; } = new([], [], []);

    /// <summary>How many verifier signatures a block needs: more than half of the round's verifiers.</summary>
    public int Quorum => Verifiers.Length / 2 + 1;

    /// <summary>Shamir threshold t: more than half of the aggregators, so a minority neither learns nor blocks the sum.</summary>
    public int ShareThreshold => Aggregators.Length / 2 + 1;

    public bool SameAs(RoundRoles other) =>
        Noisers.AsSpan().SequenceEqual(other.Noisers) && Verifiers.AsSpan().SequenceEqual(other.Verifiers) && Aggregators.AsSpan().SequenceEqual(other.Aggregators);

    public override string ToString() =>
        $"verifiers {string.Join(",", Verifiers)}, aggregators {string.Join(",", Aggregators)}" + (Noisers.Length > 0 ? $", noisers {string.Join(",", Noisers)}" : "");
}
