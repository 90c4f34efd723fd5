using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// Who takes part in one round and where each client is simulated: the sampled clients (ascending ids), which of them
/// report (the others drop out), and the contiguous slice of the sampled list each rank simulates. Every rank builds
/// the same plan from (seed, round) alone: sampling and dropout draws never depend on the rank count, so neither does
/// the result.
/// </summary>
internal sealed class RoundPlan
{
    private readonly bool[] _reports;
    private readonly int _ranks;
    // A group's plan (Subset): each rank's positions, which follow the parent's assignment rather than an even split.
    private (int Start, int Length)[]? _rankRanges;

    private RoundPlan(int round, int[] sampled, bool[] reports, int ranks)
    {
        Round = round;
        Sampled = sampled;
        _reports = reports;
        _ranks = ranks;
    }

    /// <summary>The 0-based round.</summary>
    public int Round { get; }

    /// <summary>The sampled clients, ascending.</summary>
    public IReadOnlyList<int> Sampled { get; }

    /// <summary>Whether the <paramref name="position"/>-th sampled client reports its update (false: it dropped out).</summary>
    public bool Reports(int position) => _reports[position];

    /// <summary>How many sampled clients report.</summary>
    public int ReportingCount => _reports.Count(r => r);

    /// <summary>Positions in <see cref="Sampled"/> that rank <paramref name="rank"/> simulates: [Start, Start + Length).</summary>
    public (int Start, int Length) PositionsOf(int rank) => _rankRanges?[rank] ?? EpochSampler.ShardRange(Sampled.Count, rank, _ranks);

    /// <summary>The rank that simulates the <paramref name="position"/>-th sampled client.</summary>
    public int RankOf(int position)
    {
        for (int r = 0; r < _ranks; r++)
        {
            var (start, length) = PositionsOf(r);
            if (position < start + length) return r;
        }
        throw new ArgumentOutOfRangeException(nameof(position), position, $"the round samples only {Sampled.Count} clients.");
    }

    /// <summary>
    /// The plan of a group of this round's clients (--secure-groups): the clients at <paramref name="positions"/>, each
    /// still simulated by the rank the whole round's plan gives it. Since each rank simulates a contiguous run of the
    /// ascending sampled list, the group's ascending list is again a contiguous run per rank.
    /// </summary>
    public RoundPlan Subset(IEnumerable<int> positions)
    {
        var chosen = positions.Order().ToArray();
        var ranges = new (int Start, int Length)[_ranks];
        for (int p = 0; p < chosen.Length; p++)
        {
            int rank = RankOf(chosen[p]);
            ranges[rank] = ranges[rank].Length == 0 ? (p, 1) : (ranges[rank].Start, ranges[rank].Length + 1);
        }
        for (int rank = 0, next = 0; rank < _ranks; rank++)
        {
            if (ranges[rank].Length == 0) ranges[rank] = (next, 0);
            next = ranges[rank].Start + ranges[rank].Length;
        }
        return new RoundPlan(Round, chosen.Select(p => Sampled[p]).ToArray(), chosen.Select(p => _reports[p]).ToArray(), _ranks) { _rankRanges = ranges };
    }

    /// <summary>The plan of round <paramref name="round"/> for a world of <paramref name="ranks"/> ranks.</summary>
    public static RoundPlan Create(FederatedSettings settings, int seed, int round, int ranks)
    {
        // Partial Fisher-Yates: the first K positions of a seeded shuffle are a uniform sample without replacement.
        var ids = Enumerable.Range(0, settings.Clients).ToArray();
        var random = FederatedRandom.For(seed, FederatedRandom.Purpose.Sampling, round);
        for (int i = 0; i < settings.ClientsPerRound; i++)
        {
            int j = random.Next(i, ids.Length);
            (ids[i], ids[j]) = (ids[j], ids[i]);
        }
        var sampled = ids[..settings.ClientsPerRound];
        Array.Sort(sampled);
        // One draw per (round, client): whether a client drops does not depend on who else was sampled.
        var reports = sampled.Select(client =>
            settings.Dropout <= 0 || FederatedRandom.For(seed, FederatedRandom.Purpose.Dropout, round, client).NextDouble() >= settings.Dropout).ToArray();
        return new RoundPlan(round, sampled, reports, ranks);
    }
}
