namespace AllReduceNet.Training.Cli;

/// <summary>The stage grid of --strategy hybrid and downpour: stages per replica, layers per stage, push and fetch periods.</summary>
internal sealed record StageGrid(int Stages, int[] Split, int PushEvery, int FetchEvery);

/// <summary>
/// The hybrid and downpour strategies' part of <see cref="SettingsValidator"/>: checks --stages against the ranks and
/// the dense layers, --split against the stages, that every replica's share of a batch fills its micro-batches, and
/// (downpour) --servers, --push-every and --fetch-every; refuses those options with the other strategies.
/// </summary>
internal static class HybridSettingsValidator
{
    public const int DefaultHybridStages = 2;

    /// <returns>The grid, or null when <paramref name="strategy"/> is neither hybrid nor downpour.</returns>
    public static StageGrid? Validate(TrainOptions options, StrategyKind strategy, int ranks, int layerCount)
    {
        bool downpour = strategy == StrategyKind.Downpour;
        if (strategy != StrategyKind.Hybrid && !downpour)
        {
            if (options.Stages is not null) throw new TrainingException("--stages applies to --strategy hybrid and downpour only.");
            return null;
        }
        if (!downpour)
            foreach (var (name, given) in new (string, bool)[] { ("--push-every", options.PushEvery is not null), ("--fetch-every", options.FetchEvery is not null) })
                if (given) throw new TrainingException($"{name} applies to --strategy downpour only.");
        int stages = options.Stages ?? (downpour ? 1 : DefaultHybridStages);
        if (stages < 1) throw new TrainingException($"--stages must be at least 1, but was {stages}.");
        if (stages > layerCount)
            throw new TrainingException($"--stages {stages} exceeds the {layerCount} dense layer{(layerCount == 1 ? "" : "s")} of --layers '{options.Layers}': each stage needs at least one layer; use --stages {layerCount} or fewer, or more --layers.");
        int workers = ranks;
        if (downpour)
        {
            if (options.Servers < 1) throw new TrainingException($"--servers must be at least 1, but was {options.Servers}.");
            if (options.Servers >= ranks)
                throw new TrainingException($"--servers {options.Servers} must be fewer than the {ranks} ranks, so that at least one rank trains a replica.");
            workers = ranks - options.Servers;
        }
        if (workers % stages != 0)
            throw new TrainingException(downpour
                ? $"downpour: the {workers} ranks that are not servers (--ranks {ranks} minus --servers {options.Servers}) are not a multiple of --stages {stages}; each replica needs exactly {stages} ranks."
                : $"hybrid: --ranks {ranks} is not a multiple of --stages {stages}; the ranks form a grid of stages x replicas.");
        int replicas = workers / stages;
        int smallestShare = options.BatchSize / replicas;
        // A single stage runs its share as one micro-batch (GpipeStage), so --micro-batches matters only with more.
        if (smallestShare < (stages == 1 ? 1 : options.MicroBatches))
            throw new TrainingException($"--batch-size {options.BatchSize} over {replicas} replicas gives a replica {smallestShare} samples per step, fewer than {(stages == 1 ? "1" : $"--micro-batches {options.MicroBatches}")}; every micro-batch needs at least one sample.");
        if (options.Split is { } text && text.Split(',').Length != stages)
            throw new TrainingException($"--split '{text}' names {text.Split(',').Length} stages, but --stages is {stages}; give one entry per stage.");
        int[] split = SettingsValidator.ValidateSplit(options.Split, layerCount, stages);
        int push = options.PushEvery ?? 1, fetch = options.FetchEvery ?? 1;
        if (push < 1) throw new TrainingException($"--push-every must be at least 1, but was {push}.");
        if (fetch < 1) throw new TrainingException($"--fetch-every must be at least 1, but was {fetch}.");
        return new StageGrid(stages, split, push, fetch);
    }
}
