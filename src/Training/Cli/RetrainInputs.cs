using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// What a retraining run adds to an ordinary one (docs/lifecycle.md): <c>--extra-data</c> (labeled rows collected after
/// deployment, appended to the training set <c>--extra-weight</c> times) and <c>--init-from</c> (start from the deployed
/// model's parameters). The test set stays the data set's own, so validation accuracy remains comparable across versions.
/// </summary>
internal static class RetrainInputs
{
    public const int MaxExtraWeight = 1000;

    /// <summary>Returns <paramref name="data"/> with the --extra-data rows appended to its training set, or unchanged without the option.</summary>
    /// <exception cref="TrainingException">The options or the file are unusable, or the file's rows do not fit the data.</exception>
    public static TrainTestData AddExtraData(TrainOptions options, TrainTestData data)
    {
        if (options.ExtraData is not { } path)
        {
            if (options.ExtraWeight is not null) throw new TrainingException("--extra-weight applies with --extra-data only.");
            return data;
        }
        int weight = options.ExtraWeight ?? 1;
        if (weight < 1 || weight > MaxExtraWeight)
            throw new TrainingException($"--extra-weight must be an integer from 1 to {MaxExtraWeight}, but was {weight}.");
        var extra = LabeledDataFile.Read(path);
        var train = data.Train;
        if (extra.Features != train.Features)
            throw new TrainingException($"--extra-data '{path}' has {extra.Features} features per row, but the training data has {train.Features}.");
        if (extra.Classes > train.Classes)
            throw new TrainingException($"--extra-data '{path}' is labeled for {extra.Classes} classes, but the training data has {train.Classes}.");
        if (extra.Count == 0) return data with { Description = data.Description + $"; --extra-data '{path}' is empty" };
        // The file holds raw rows as clients sent them: the same transform as the training inputs makes them features.
        data.Preprocess?.Apply(extra.Inputs, extra.Features);
        long rows = train.Count + (long)extra.Count * weight;
        if (rows * train.Features > Array.MaxLength)
            throw new TrainingException($"--extra-data '{path}' x --extra-weight {weight} makes {rows} training rows, too many for one array; lower the weight.");
        var inputs = new float[rows * train.Features];
        var labels = new int[rows];
        train.Inputs.CopyTo(inputs, 0);
        train.Labels.CopyTo(labels, 0);
        for (int copy = 0; copy < weight; copy++)
        {
            long at = train.Count + (long)copy * extra.Count;
            extra.Inputs.CopyTo(inputs, at * train.Features);
            extra.Labels.CopyTo(labels, at);
        }
        return data with
        {
            Train = new Dataset(inputs, labels, train.Features, train.Classes),
            Description = data.Description + $"; plus {extra.Count} labeled rows from '{path}' x {weight}",
        };
    }

    /// <summary>The --init-from checkpoint as the start of a fresh run (epoch 0, empty optimizer state), or null without the option.</summary>
    /// <exception cref="TrainingException">--init-from with --resume, or a checkpoint whose layers differ from --layers.</exception>
    public static Checkpoint? WarmStart(TrainOptions options, TrainSettings settings)
    {
        if (options.InitFrom is not { } path) return null;
        if (settings.Resume) throw new TrainingException("--init-from and --resume exclude each other: --resume continues the --checkpoint run, --init-from starts a new one from other parameters.");
        var source = CheckpointFile.Read(path);
        if (!source.LayerSizes.SequenceEqual(settings.Layers))
            throw new CheckpointException(path, $"--init-from: it holds layers {string.Join(",", source.LayerSizes)}, but --layers is {string.Join(",", settings.Layers)}");
        var slots = new float[settings.Optimizer.SlotCount][];
        for (int s = 0; s < slots.Length; s++) slots[s] = new float[source.Parameters.Length];
        return new Checkpoint(settings.Layers, 0, settings.Seed, settings.Optimizer.Kind, 0, source.Parameters, slots);
    }
}
