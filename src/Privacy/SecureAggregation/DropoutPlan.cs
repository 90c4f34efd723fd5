namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// Which clients drop out, and before which stage, in <see cref="InMemorySecureAggregation"/>: a client that drops
/// before stage S sends nothing from S on. Seeded, so a run is repeatable.
/// </summary>
public sealed class DropoutPlan
{
    private readonly Func<SecAggStage, int, bool> _drops;

    private DropoutPlan(Func<SecAggStage, int, bool> drops, string description)
    {
        _drops = drops;
        Description = description;
    }

    /// <summary>Nobody drops.</summary>
    public static DropoutPlan None { get; } = new((_, _) => false, "no dropouts");

    /// <summary>What the plan does, for logs.</summary>
    public string Description { get; }

    /// <summary>Exactly <paramref name="clients"/> drop before <paramref name="stage"/>.</summary>
    /// <param name="stage">The stage whose message they do not send.</param>
    /// <param name="clients">Their ids.</param>
    /// <returns>The plan.</returns>
    public static DropoutPlan At(SecAggStage stage, params int[] clients)
    {
        var set = clients.ToHashSet();
        return new((s, id) => s == stage && set.Contains(id), $"clients {string.Join(",", clients)} drop before {stage}");
    }

    /// <summary>
    /// Before each of <paramref name="stages"/> (all four when none are given) every client still in the round drops
    /// with probability <paramref name="probability"/>, independently, decided by a hash of (seed, round, stage, id).
    /// </summary>
    /// <param name="probability">In [0, 1].</param>
    /// <param name="seed">Makes the draw repeatable.</param>
    /// <param name="stages">The stages to drop before.</param>
    /// <returns>The plan.</returns>
    public static DropoutPlan Random(double probability, int seed, params SecAggStage[] stages)
    {
        if (!(probability >= 0 && probability <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "a dropout probability must be in [0, 1].");
        var which = stages.Length == 0 ? Enum.GetValues<SecAggStage>().ToHashSet() : stages.ToHashSet();
        return new((stage, id) => which.Contains(stage) && Uniform(seed, (int)stage, id) < probability,
            $"each client drops with probability {probability} before {string.Join(", ", which)} (seed {seed})");
    }

    /// <summary>Either plan drops the client.</summary>
    /// <param name="other">The other plan.</param>
    /// <returns>The union of both plans.</returns>
    public DropoutPlan And(DropoutPlan other) => new((s, id) => _drops(s, id) || other._drops(s, id), Description + "; " + other.Description);

    /// <summary>Whether client <paramref name="clientId"/> drops before <paramref name="stage"/>.</summary>
    /// <param name="stage">The stage.</param>
    /// <param name="clientId">The client.</param>
    /// <returns>True when it sends nothing from this stage on.</returns>
    public bool Drops(SecAggStage stage, int clientId) => _drops(stage, clientId);

    private static double Uniform(int seed, int stage, int id)
    {
        // SplitMix64 over the three inputs: a stable, well-mixed hash (not System.HashCode, which is randomized per process).
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)stage * 0xBF58476D1CE4E5B9UL + (ulong)id * 0x94D049BB133111EBUL + 0x632BE59BD9B4E019UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
