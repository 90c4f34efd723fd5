using System.Globalization;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// Validated settings of --strategy p2p-ledger (docs/ledger.md). The peers are the ranks; their data, local
/// training and attacks come from <see cref="Cli.TrainSettings.Federated"/> (one client per peer).
/// </summary>
/// <param name="Directory">Where each peer keeps its ledger file and signing key.</param>
/// <param name="Timeout">The base wait of one protocol step, after which a silent peer is dropped from it.</param>
/// <param name="Noisers">Noisers drawn each round (0 without noise).</param>
/// <param name="Verifiers">Verifiers drawn each round.</param>
/// <param name="Aggregators">Aggregators drawn each round.</param>
/// <param name="NoiseStd">Standard deviation of the DP noise the noisers add to each delta element the verifiers see (0: none).</param>
/// <param name="KrumF">f of the verifiers' Multi-Krum (they average the n - f best-scored and reject the rest).</param>
/// <param name="InitialStake">Every peer's stake in genesis.</param>
internal sealed record LedgerSettings(string Directory, TimeSpan Timeout, int Noisers, int Verifiers, int Aggregators, double NoiseStd, int KrumF, long InitialStake)
{
    /// <summary>--ledger-late-peer: this peer takes part in genesis, then is away (<see cref="LateSeconds"/> or until
    /// <see cref="LateBlocks"/>) and catches up from a neighbour; null for none.</summary>
    public int? LatePeer { get; init; }

    /// <summary>--ledger-late-peer R:S: away for S seconds.</summary>
    public double LateSeconds { get; init; }

    /// <summary>--ledger-late-peer R@B: away until a neighbour answers its catch-up request with B blocks, so it joins at
    /// round B + 1 whatever the timing (neighbours answer at the start of their rounds); null: <see cref="LateSeconds"/>.</summary>
    public long? LateBlocks { get; init; }

    /// <summary>--ledger-tamper: this peer, when an aggregator, proposes blocks whose delta it changed after hashing (simulates a Byzantine aggregator); null for none.</summary>
    public int? TamperingPeer { get; init; }

    /// <summary>Simulation (tests): in this round the peers of <see cref="EmptyBlockPeers"/> append the empty block
    /// as if no proposal had reached them by the deadline, the way the per-peer deadlines fork a loaded run; null for none.</summary>
    public long? EmptyBlockRound { get; init; }

    /// <summary>The peers that append the empty block in <see cref="EmptyBlockRound"/>.</summary>
    public IReadOnlyList<int> EmptyBlockPeers { get; init; } = [];

    public string Describe()
    {
        string noise = NoiseStd > 0 ? string.Create(CultureInfo.InvariantCulture, $" noise std {NoiseStd}") : "";
        string late = LatePeer is int peer
            ? LateBlocks is long blocks ? $", peer {peer} joins after block {blocks}" : string.Create(CultureInfo.InvariantCulture, $", peer {peer} joins after {LateSeconds} s")
            : "";
        string tamper = TamperingPeer is int t ? $", peer {t} tampers with its blocks" : "";
        if (EmptyBlockRound is long missed) tamper += $", peers {string.Join(",", EmptyBlockPeers)} miss block {missed}";
        return string.Create(CultureInfo.InvariantCulture,
            $"p2p-ledger ({Verifiers} verifiers, {Aggregators} aggregators, {Noisers} noisers{noise}, multikrum f {KrumF}, step timeout {Timeout.TotalSeconds} s, ledger in {Directory}{late}{tamper})");
    }
}
