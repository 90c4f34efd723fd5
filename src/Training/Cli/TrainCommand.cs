using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Onnx;
using AllReduceNet.Training.Training;
using AllReduceNet.Training.Transport;
using CommandLine;
using CommandLine.Text;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// The program: parse the command line, validate it, load the data and the checkpoint (all before any rank starts),
/// then train. Problems the user can fix are printed as one "error:" line and exit code 2.
/// </summary>
internal static class TrainCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error, Action<int, int>? afterStep = null)
    {
        var parser = new Parser(with => { with.HelpWriter = null; with.CaseInsensitiveEnumValues = true; });
        var parsed = parser.ParseArguments<TrainOptions>(args);
        if (parsed is NotParsed<TrainOptions> notParsed)
        {
            var help = HelpText.AutoBuild(parsed, h =>
            {
                h.Heading = "Train.dll: distributed training of an MLP on Fashion-MNIST over AllReduceNet";
                h.Copyright = "usage: dotnet Train.dll [options]   or   mpiexec -n 8 dotnet Train.dll [options]";
                h.AddDashesToOption = true;
                h.MaximumDisplayWidth = 120;
                return HelpText.DefaultParsingErrorsHandler(parsed, h);
            }, e => e);
            bool asked = notParsed.Errors.Any(e => e.Tag is ErrorType.HelpRequestedError or ErrorType.VersionRequestedError);
            (asked ? output : error).WriteLine(help);
            return asked ? 0 : 1;
        }
        int exitCode = 1; // what the process exits with should MPI_Finalize not return in time
        try
        {
            int? mpiWorld = WorldLauncher.MpiWorldSize();
            TrainSettings settings;
            TrainTestData data;
            Checkpoint? initial;
            try
            {
                settings = SettingsValidator.Validate(parsed.Value, mpiWorld);
                data = LoadData(parsed.Value, settings);
                data = RetrainInputs.AddExtraData(parsed.Value, data);
                // Federated: a partition that cannot be made (too few samples for the clients) is refused before any rank starts.
                // So are secure-aggregation settings whose sum could overflow the modulus (the range depends on the largest client).
                if (settings.Federated is { } federated)
                {
                    var partition = Federated.ClientPartition.Create(data.Train, federated.Clients, federated.Partition, settings.Seed);
                    federated.SecureAggregation?.CreateSettings(federated.ClientsPerRound, partition.Clients.Max(c => c.Length), new Model.ParameterLayout(settings.Layers).Count + 1);
                }
                initial = settings.Resume ? LoadCheckpoint(settings) : null;
                initial ??= RetrainInputs.WarmStart(parsed.Value, settings);
                if (initial?.Privacy is not null && settings.Dp is null)
                    throw new TrainingException($"--resume: checkpoint {settings.CheckpointPath} was trained with --dp; resume it with --dp (and its clip and noise), or its privacy accounting would stop.");
                if (settings.Dp is not null)
                    settings = settings with { DpPlan = Privacy.DpSgdPlanner.Plan(settings, data, TrainFiles(parsed.Value), initial, parsed.Value.Checkpoint) };
            }
            catch (TrainingException problem)
            {
                // Under MPI the ranks agree before any work, so a problem found on one node stops all of them.
                WorldLauncher.AgreeOnFailure(problem);
                throw;
            }
            WorldLauncher.AgreeOnFailure(null);
            var report = new ReportWriter(output, WorldLauncher.IsLeadProcess ? settings.LogJson : null, settings.Quiet);
            var final = WorldLauncher.Run(settings.Ranks, world => Trainer.Run(world, settings, data, initial, report, afterStep));
            if (WorldLauncher.IsLeadProcess && settings.ExportModelPath is { } export)
                ExportModel(export, final, data, settings.Seed);
            if (WorldLauncher.IsLeadProcess && settings.ExportOnnxPath is { } onnx)
                MlpOnnxExport.Write(onnx, final, data.Preprocess ?? Preprocessing.Identity);
            if (WorldLauncher.IsLeadProcess)
                report.Summary($"done: {final.CompletedEpochs} {(settings.Federated is null ? "epochs" : "rounds")}{(settings.CheckpointPath is null ? "" : $", checkpoint {settings.CheckpointPath}")}{(settings.ExportModelPath is null ? "" : $", model exported to {settings.ExportModelPath}")}{(settings.ExportOnnxPath is null ? "" : $", ONNX model written to {settings.ExportOnnxPath}")}");
            exitCode = 0;
            return 0;
        }
        catch (Exception e) when (Unwrap(e) is TrainingException problem)
        {
            // Under MPI only the lowest rank that found a problem prints it (usually every rank finds the same one).
            if (WorldLauncher.ShouldReport(problem)) error.WriteLine($"{WorldLauncher.RankPrefix}error: {problem.Message}");
            exitCode = 2;
            return 2;
        }
        finally
        {
            WorldLauncher.Shutdown(exitCode);
        }
    }

    /// <summary>The training data's files, which name the data set in the privacy ledger; null for synthetic data.</summary>
    private static string[]? TrainFiles(TrainOptions options) => options.Synthetic is not null ? null :
        [.. new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz" }.Select(f => Path.Combine(options.Data ?? FashionMnist.DefaultDirectory, f))];

    private static Exception Unwrap(Exception e) => e is RankFailedException { InnerException: { } inner } ? Unwrap(inner) : e;

    private static TrainTestData LoadData(TrainOptions options, TrainSettings settings)
    {
        TrainTestData data = options.Synthetic is int samples
            ? SyntheticDataset.Create(samples, Math.Max(samples / 4, 1), settings.Layers[0], settings.Layers[^1], settings.Seed)
            : FashionMnist.Load(options.Data ?? FashionMnist.DefaultDirectory, options.Normalize.Trim().ToLowerInvariant());
        if (data.Train.Features != settings.Layers[0])
            throw new TrainingException($"--layers starts with {settings.Layers[0]} inputs, but the data has {data.Train.Features} features per sample.");
        if (data.Train.Classes != settings.Layers[^1])
            throw new TrainingException($"--layers ends with {settings.Layers[^1]} outputs, but the data has {data.Train.Classes} classes.");
        if (data.Train.Count < settings.BatchSize)
            throw new TrainingException($"--batch-size {settings.BatchSize} exceeds the {data.Train.Count} training samples.");
        return data;
    }

    /// <summary>Writes the served form of the model: model.ckpt, preprocess.json and reference.json in a NAME/VERSION directory.</summary>
    private static void ExportModel(string directory, Checkpoint final, TrainTestData data, int seed)
    {
        Directory.CreateDirectory(directory);
        CheckpointFile.Write(Path.Combine(directory, "model.ckpt"), final);
        (data.Preprocess ?? Preprocessing.Identity).Write(Path.Combine(directory, Preprocessing.FileName));
        Reference.ReferenceStatisticsBuilder.Build(final, data.Train, data.Test, seed).Write(Path.Combine(directory, Reference.ReferenceStatistics.FileName));
    }

    private static Checkpoint LoadCheckpoint(TrainSettings settings)
    {
        string path = settings.CheckpointPath!;
        var checkpoint = CheckpointFile.Read(path);
        if (!checkpoint.LayerSizes.SequenceEqual(settings.Layers))
            throw new CheckpointException(path, $"it holds layers {string.Join(",", checkpoint.LayerSizes)}, but --layers is {string.Join(",", settings.Layers)}");
        if (checkpoint.Optimizer != settings.Optimizer.Kind)
            throw new CheckpointException(path, $"it holds {checkpoint.Optimizer} state, but --optimizer is {settings.Optimizer.Kind}");
        if (checkpoint.Seed != settings.Seed)
            throw new CheckpointException(path, $"it was trained with --seed {checkpoint.Seed}, but --seed is {settings.Seed}; resume with the same seed");
        return checkpoint;
    }
}
