using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// The robust-aggregation part of <see cref="FederatedSettingsValidator"/>: --aggregator, --attack, --malicious and
/// --secure-groups. Refuses, before any rank starts, a rule whose limit the rounds cannot meet (naming the rule, n and
/// f), an attack without --malicious or the reverse, and --secure-groups without --secure-aggregation and a rule.
/// </summary>
internal static class RobustSettingsValidator
{
    /// <returns>The settings, or null when none of the options was given.</returns>
    public static RobustSettings? Validate(TrainOptions options, int clients, int clientsPerRound)
    {
        if (options.Aggregator is null && options.Attack is null && options.Malicious is null && options.SecureGroups is null) return null;
        IRobustRule? rule = options.Aggregator is { } text ? RobustRules.Parse(text) : null;
        if (rule is MeanRule && options.SecureGroups is null) rule = null;   // the plain sum path is the weighted mean

        if ((options.Attack is null) != (options.Malicious is null))
            throw new TrainingException(options.Attack is null
                ? "--malicious needs --attack (signflip[:K], scale:K, labelflip, gaussian[:S] or alie[:Z])."
                : "--attack needs --malicious F: the fraction (e.g. 0.2) or number (e.g. 20) of malicious clients.");
        var attack = options.Attack is { } a ? AttackSpec.Parse(a, options.Malicious!, clients) : null;

        int? groups = null;
        if (options.SecureGroups is int g)
        {
            if (!options.SecureAggregation) throw new TrainingException("--secure-groups needs --secure-aggregation: it runs the secure protocol inside each group.");
            if (options.Aggregator is null) throw new TrainingException("--secure-groups needs --aggregator: the robust rule that runs over the group sums.");
            if (g < 2) throw new TrainingException($"--secure-groups must be at least 2 clients per group (a group of 1 reveals its update), but was {g}.");
            if (g > clientsPerRound) throw new TrainingException($"--secure-groups {g} exceeds --clients-per-round {clientsPerRound}: no group could be formed.");
            groups = g;
            RobustRules.CheckInputs(rule!, clientsPerRound / g, $"groups per round (--clients-per-round {clientsPerRound} / --secure-groups {g}; f counts groups)");
        }
        else if (rule is not null)
        {
            if (options.SecureAggregation)
                throw new TrainingException($"--aggregator {rule.Name} needs each client's plain update, which --secure-aggregation hides; add --secure-groups G to run the rule over the sums of random groups of G clients (docs/robust-aggregation.md).");
            RobustRules.CheckInputs(rule, clientsPerRound, "clients per round (--clients-per-round)");
        }
        return new RobustSettings(rule, attack, groups);
    }

    /// <summary>
    /// ps --sync --aggregator: the rule each server applies to its shard of the workers' pushes (n = the workers);
    /// refused with --async (a rule needs all pushes of a step) and below the rule's limit.
    /// </summary>
    /// <returns>The rule, or null without --aggregator or with mean (the plain sum).</returns>
    public static IRobustRule? ValidateParameterServer(TrainOptions options, StrategyKind strategy, int workers)
    {
        if (strategy != StrategyKind.ParameterServer || options.Aggregator is not { } text) return null;
        if (options.Async)
            throw new TrainingException("--aggregator applies to --strategy ps --sync only: a robust rule needs every worker's push of a step, which --async applies one at a time.");
        var rule = RobustRules.Parse(text);
        if (rule is MeanRule) return null;
        RobustRules.CheckInputs(rule, workers, "workers (--ranks minus --servers)");
        return rule;
    }

    /// <summary>The options that are refused with the strategies that cannot use them (--aggregator also works with ps, --attack and --malicious with gossip).</summary>
    public static IEnumerable<(string Name, bool Given)> Options(TrainOptions options, StrategyKind strategy) =>
    [
        ("--aggregator", options.Aggregator is not null && strategy != StrategyKind.ParameterServer),
        ("--attack", options.Attack is not null && strategy != StrategyKind.Gossip), ("--malicious", options.Malicious is not null && strategy != StrategyKind.Gossip),
        ("--secure-groups", options.SecureGroups is not null),
    ];
}
