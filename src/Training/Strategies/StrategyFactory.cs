using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Strategies;

/// <summary>Creates the strategy the settings name.</summary>
internal static class StrategyFactory
{
    public static IStrategy Create(StrategyContext context) => context.Settings.Strategy switch
    {
        StrategyKind.Ddp when context.Settings.Reproducible && context.Settings.ReproducibleSum == ReproducibleSumKind.Exact => new ExactSumDdpStrategy(context),
        StrategyKind.Ddp when context.Settings.Reproducible => new ReproducibleDdpStrategy(context),
        StrategyKind.Ddp => new DdpStrategy(context),
        StrategyKind.Zero => new ZeroStrategy(context),
        StrategyKind.ParameterServer => new ParameterServerStrategy(context),
        StrategyKind.Pipeline => new PipelineStrategy(context),
        StrategyKind.Gossip => new Gossip.GossipStrategy(context),
        StrategyKind.Hybrid => new HybridStrategy(context),
        StrategyKind.Downpour => new DownpourStrategy(context),
        StrategyKind.Hogwild => new Hogwild.HogwildStrategy(context),
        StrategyKind.Tensor => new TensorParallel.TensorParallelStrategy(context),
        _ => throw new ArgumentOutOfRangeException(nameof(context), context.Settings.Strategy, "unknown strategy"),
    };
}
