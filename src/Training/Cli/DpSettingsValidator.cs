using AllReduceNet.Privacy;
using AllReduceNet.Privacy.Accounting;
using AllReduceNet.Training.Privacy;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// The --dp part of <see cref="SettingsValidator"/>: example-level DP-SGD runs with the data-parallel strategies ddp,
/// zero and ps --sync only, and its numbers are checked here (a NaN or non-positive clip, ε ≤ 0, δ outside (0, 1), both
/// or neither of --dp-noise and --dp-epsilon), before the data is loaded.
/// </summary>
internal static class DpSettingsValidator
{
    public const double DefaultClip = 1.0;
    public const double DefaultDelta = 1e-5;

    /// <returns>The DP-SGD options, or null without --dp.</returns>
    public static DpSgdOptions? Validate(TrainOptions options, StrategyKind strategy)
    {
        if (!options.Dp)
        {
            foreach (var (name, given) in new (string, bool)[]
            {
                ("--dp-clip", options.DpClip is not null), ("--dp-noise", options.DpNoise is not null),
                ("--dp-epsilon", options.DpEpsilon is not null), ("--dp-delta", options.DpDelta is not null),
                ("--dp-budget", options.DpBudget is not null && !options.ClientDp), ("--dp-secure-rng", options.DpSecureRng),
            })
                if (given) throw new TrainingException($"{name} applies with --dp{(name == "--dp-budget" ? " or --client-dp" : "")} only.");
            return null;
        }
        // Why the others are refused: pipeline splits each example's gradient over the stages, so no rank can compute
        // its norm alone; the federated strategies release client updates, not per-example steps (client-level DP);
        // ps --async applies each worker's push on its own, so a push would carry only that worker's noise share.
        string? refused = strategy switch
        {
            StrategyKind.Pipeline => "pipeline splits each example's gradient over the stages, so no rank can clip it",
            StrategyKind.Hybrid or StrategyKind.Downpour => "its pipeline stages split each example's gradient, so no rank can clip it",
            StrategyKind.Tensor => "its ranks each hold a slice of every layer, so no rank has an example's whole gradient to clip",
            StrategyKind.FedAvg or StrategyKind.FedProx or StrategyKind.FedAvgM => "federated rounds release client updates, not per-example steps (example-level DP-SGD is for ddp, zero and ps --sync)",
            StrategyKind.Gossip => "gossip never sums the ranks' gradients, so the noise shares would not add up to sigma*C on any sum (each replica would carry only its share)",
            StrategyKind.ParameterServer when options.Async => "ps --async applies each worker's push alone, so a push would carry only that worker's share of the noise",
            _ => null,
        };
        if (refused is not null) throw new TrainingException($"--dp is not available with --strategy {options.Strategy}{(options.Async ? " --async" : "")}: {refused}.");
        var settings = new DifferentialPrivacySettings(options.DpClip ?? DefaultClip, options.DpNoise, options.DpEpsilon,
            options.DpDelta ?? DefaultDelta, options.DpBudget);
        try
        {
            settings.Validate();
        }
        catch (PrivacyException problem)
        {
            throw new TrainingException(problem.Message, problem);
        }
        return new DpSgdOptions(settings, options.DpSecureRng);
    }
}
