using System.Globalization;
using AllReduceNet.Training.Federated;
using AllReduceNet.Training.Ledger;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// --strategy p2p-ledger's part of <see cref="SettingsValidator"/>: the --ledger-* options, refused with the other
/// strategies; and the federated options it shares (local training, partition, attack), made per peer: one client per
/// rank, every peer every round, the attack's malicious share counted among the peers. Options of a server-based
/// federated run (--clients, --secure-aggregation, --aggregator, --client-dp ...) are refused with it.
/// </summary>
internal static class LedgerSettingsValidator
{
    public const string DefaultDirectory = "ledger";
    public const double DefaultTimeoutSeconds = 30;
    public const long DefaultStake = 10;

    /// <param name="options">The parsed command line.</param>
    /// <param name="strategy">The chosen strategy.</param>
    /// <param name="ranks">The peers (ranks).</param>
    /// <param name="federated">The validated federated settings; for p2p-ledger, replaced by the per-peer form.</param>
    /// <returns>The ledger settings, or null when <paramref name="strategy"/> is not p2p-ledger.</returns>
    public static LedgerSettings? Validate(TrainOptions options, StrategyKind strategy, int ranks, ref FederatedSettings? federated)
    {
        if (strategy != StrategyKind.P2PLedger)
        {
            foreach (var (name, given) in new (string, bool)[]
            {
                ("--ledger-dir", options.LedgerDir is not null), ("--ledger-timeout", options.LedgerTimeout is not null),
                ("--ledger-verifiers", options.LedgerVerifiers is not null), ("--ledger-aggregators", options.LedgerAggregators is not null),
                ("--ledger-noise", options.LedgerNoise is not null), ("--ledger-noisers", options.LedgerNoisers is not null),
                ("--ledger-krum-f", options.LedgerKrumF is not null), ("--ledger-stake", options.LedgerStake is not null),
                ("--ledger-late-peer", options.LedgerLatePeer is not null), ("--ledger-tamper", options.LedgerTamper is not null),
                ("--ledger-miss-block", options.LedgerMissBlock is not null),
            })
                if (given) throw new TrainingException($"{name} applies to --strategy p2p-ledger only.");
            return null;
        }
        foreach (var (name, given) in new (string, bool)[]
        {
            ("--clients", options.Clients is not null && options.Clients != ranks), ("--clients-per-round", options.ClientsPerRound is not null),
            ("--dropout", options.Dropout is not null), ("--server-lr", options.ServerLr is not null), ("--secure-aggregation", options.SecureAggregation),
            ("--aggregator", options.Aggregator is not null), ("--secure-groups", options.SecureGroups is not null), ("--client-dp", options.ClientDp),
            ("--resume", options.Resume),
        })
            if (given) throw new TrainingException(name == "--resume"
                ? "--resume does not apply to --strategy p2p-ledger: the ledger is its state; rerun with the same --ledger-dir to continue it."
                : $"{name} does not apply to --strategy p2p-ledger: every peer is one client and takes part in every round, the verifiers' Multi-Krum is the aggregation rule, and the aggregators' Shamir sharing is the secure sum.");
        if (ranks > UpdateShares.MaxPeers)
            throw new TrainingException($"p2p-ledger: {ranks} peers are more than the {UpdateShares.MaxPeers} whose fixed-point sums fit one Shamir chunk.");
        if (federated is null) throw new InvalidOperationException("p2p-ledger is validated as a federated strategy first.");
        AttackSpec? attack = null;
        if (options.Attack is { } text)
        {
            attack = AttackSpec.Parse(text, options.Malicious!, ranks);
            if (attack.Kind == AttackKind.Alie)
                throw new TrainingException("--attack alie needs the benign updates of every peer (an omniscient attacker over an AllReduce), which p2p-ledger has no place for; use signflip, scale, gaussian or labelflip.");
        }
        federated = federated with { Clients = ranks, ClientsPerRound = ranks, Robust = attack is null ? null : new RobustSettings(null, attack, null) };

        double timeout = options.LedgerTimeout ?? DefaultTimeoutSeconds;
        if (!(timeout > 0 && timeout <= 3600)) throw new TrainingException($"--ledger-timeout must be in (0, 3600] seconds, but was {timeout}.");
        int verifiers = options.LedgerVerifiers ?? Math.Min(3, ranks);
        int aggregators = options.LedgerAggregators ?? Math.Min(3, ranks);
        double noise = options.LedgerNoise ?? 0;
        if (!(noise >= 0 && double.IsFinite(noise))) throw new TrainingException($"--ledger-noise must be a finite standard deviation of at least 0, but was {noise}.");
        if (options.LedgerNoisers is not null && noise == 0) throw new TrainingException("--ledger-noisers applies with --ledger-noise only.");
        int noisers = noise > 0 ? options.LedgerNoisers ?? Math.Min(2, ranks) : 0;
        foreach (var (name, value, least) in new[] { ("--ledger-verifiers", verifiers, 1), ("--ledger-aggregators", aggregators, 1), ("--ledger-noisers", noisers, noise > 0 ? 1 : 0) })
            if (value < least || value > ranks) throw new TrainingException($"{name} must be from {least} to the {ranks} peers, but was {value}.");
        int krumF = options.LedgerKrumF ?? Math.Max(0, (ranks - 3) / 2);
        if (krumF < 0 || (krumF > 0 && 2 * krumF + 3 > ranks))
            throw new TrainingException($"--ledger-krum-f {krumF}: Multi-Krum needs n >= 2f + 3 updates, and there are {ranks} peers; use at most {Math.Max(0, (ranks - 3) / 2)}.");
        long stake = options.LedgerStake ?? DefaultStake;
        if (stake < 1) throw new TrainingException($"--ledger-stake must be at least 1, but was {stake}.");
        var settings = new LedgerSettings(options.LedgerDir ?? DefaultDirectory, TimeSpan.FromSeconds(timeout), noisers, verifiers, aggregators, noise, krumF, stake);
        if (options.LedgerLatePeer is { } late && late.Contains('@', StringComparison.Ordinal))
        {
            var parts = late.Split('@');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rank) || rank >= ranks
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long blocks) || blocks < 1)
                throw new TrainingException($"--ledger-late-peer '{late}' must be RANK@BLOCKS with a rank below {ranks} and at least 1 block, e.g. 3@2 (or RANK:SECONDS).");
            settings = settings with { LatePeer = rank, LateBlocks = blocks };
        }
        else if (options.LedgerLatePeer is { } lateSeconds)
        {
            var parts = lateSeconds.Split(':');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rank) || rank >= ranks
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds >= 0 && seconds <= 3600))
                throw new TrainingException($"--ledger-late-peer '{lateSeconds}' must be RANK:SECONDS with a rank below {ranks} and seconds in [0, 3600], e.g. 3:20 (or RANK@BLOCKS).");
            settings = settings with { LatePeer = rank, LateSeconds = seconds };
        }
        if (options.LedgerTamper is int tamper)
        {
            if (tamper < 0 || tamper >= ranks) throw new TrainingException($"--ledger-tamper {tamper} must be a rank below {ranks}.");
            settings = settings with { TamperingPeer = tamper };
        }
        if (options.LedgerMissBlock is { } miss)
        {
            int rounds = options.Rounds ?? FederatedSettingsValidator.DefaultRounds;
            string[] parts = miss.Split(':');
            var peers = parts.Length == 2 ? parts[1].Split(',').Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int r) ? r : -1).ToArray() : [];
            if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long round) || round < 1 || round > rounds
                || peers.Length == 0 || peers.Any(p => p < 0 || p >= ranks) || peers.Distinct().Count() != peers.Length)
                throw new TrainingException($"--ledger-miss-block '{miss}' must be ROUND:RANK[,RANK...] with a round from 1 to --rounds {rounds} and distinct ranks below {ranks}, e.g. 2:4,6.");
            settings = settings with { EmptyBlockRound = round, EmptyBlockPeers = peers };
        }
        return settings;
    }
}
