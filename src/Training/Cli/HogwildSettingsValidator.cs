using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Cli;

/// <summary>Checks the options of --strategy hogwild: in-process, plain SGD.</summary>
internal static class HogwildSettingsValidator
{
    /// <exception cref="TrainingException">Hogwild was asked for where it cannot run, or with an optimizer it does not have.</exception>
    public static void Validate(TrainOptions options, StrategyKind strategy, int? launchedRanks, OptimizerKind optimizer, float momentum)
    {
        if (strategy != StrategyKind.Hogwild) return;
        if (launchedRanks is not null)
            throw new TrainingException("--strategy hogwild runs in-process only: its ranks are threads that update one shared copy of the parameters in memory, and processes started by mpiexec share no memory; run it without mpiexec (--ranks N), or use --strategy ps --async.");
        if (optimizer != OptimizerKind.Sgd)
            throw new TrainingException($"--strategy hogwild runs plain SGD (each thread writes its update straight into the shared parameters); --optimizer {options.Optimizer} keeps state it cannot share without locks.");
        if (momentum != 0)
            throw new TrainingException($"--strategy hogwild runs SGD without momentum (as Niu et al. 2011): a momentum buffer would make every update dense; --momentum must be 0, but was {momentum}.");
        if (options.WeightDecay != 0)
            throw new TrainingException($"--strategy hogwild applies only the gradient's non-zero entries; --weight-decay {options.WeightDecay} would touch every parameter every step. Omit it.");
        if (options.Dp)
            throw new TrainingException("--dp is not available with --strategy hogwild: DP-SGD needs the whole batch's clipped sum before one update.");
    }
}
