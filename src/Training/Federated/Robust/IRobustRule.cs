namespace AllReduceNet.Training.Federated;

/// <summary>
/// A robust aggregation rule (--aggregator): turns n client deltas (each an unweighted model delta w_k - w, with the
/// client's sample count as its weight) into the one delta the server applies, and says which inputs it rejected or
/// down-weighted. Rules that need each plain update cannot run on a secure sum; with --secure-groups they run over
/// the groups' mean deltas instead (docs/robust-aggregation.md).
/// </summary>
internal interface IRobustRule
{
    /// <summary>The option's text, e.g. "krum:2".</summary>
    string Name { get; }

    /// <summary>The fewest inputs the rule is defined (and robust) for.</summary>
    int MinimumInputs { get; }

    /// <summary>The limit in words, e.g. "n >= 2f + 3 = 7 for f = 2".</summary>
    string Limit { get; }

    /// <summary>Aggregates <paramref name="deltas"/> (all of one length) with their <paramref name="weights"/> (positive).</summary>
    /// <exception cref="ArgumentException">Fewer than <see cref="MinimumInputs"/> inputs, or inputs of different lengths.</exception>
    RobustOutcome Aggregate(IReadOnlyList<float[]> deltas, IReadOnlyList<double> weights);
}

/// <summary>What a rule made of one round's inputs.</summary>
/// <param name="Delta">The aggregated delta the server applies.</param>
/// <param name="Rejected">Indices of inputs that had no part in <paramref name="Delta"/> (ascending).</param>
/// <param name="DownWeighted">Indices of inputs that counted less than a plain mean would give them: clipped, or
/// trimmed in most coordinates (ascending).</param>
internal sealed record RobustOutcome(float[] Delta, int[] Rejected, int[] DownWeighted);
