using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Cli;

/// <summary>
/// Checks every option before any work starts and turns them into <see cref="TrainSettings"/>; each problem is a
/// <see cref="TrainingException"/> that names the option, the value, and what would be accepted.
/// </summary>
internal static class SettingsValidator
{
    public const int DefaultInProcessRanks = 8;

    /// <param name="options">The parsed command line.</param>
    /// <param name="launchedRanks">The world size when started by mpiexec, else null.</param>
    public static TrainSettings Validate(TrainOptions options, int? launchedRanks)
    {
        var strategy = options.Strategy.Trim().ToLowerInvariant() switch
        {
            "ddp" => StrategyKind.Ddp,
            "zero" => StrategyKind.Zero,
            "ps" => StrategyKind.ParameterServer,
            "pipeline" => StrategyKind.Pipeline,
            "fedavg" => StrategyKind.FedAvg,
            "fedprox" => StrategyKind.FedProx,
            "fedavgm" => StrategyKind.FedAvgM,
            "gossip" => StrategyKind.Gossip,
            "hybrid" => StrategyKind.Hybrid,
            "downpour" => StrategyKind.Downpour,
            "p2p-ledger" => StrategyKind.P2PLedger,
            "hogwild" => StrategyKind.Hogwild,
            "tensor" => StrategyKind.Tensor,
            _ => throw new TrainingException($"--strategy '{options.Strategy}' is unknown; use ddp, zero, ps, pipeline, hybrid, downpour, hogwild, tensor, fedavg, fedprox, fedavgm, gossip or p2p-ledger."),
        };
        int ranks;
        if (launchedRanks is int world)
        {
            if (options.Ranks is int r && r != world)
                throw new TrainingException($"--ranks {r} disagrees with mpiexec's world of {world} ranks; omit --ranks under mpiexec.");
            ranks = world;
        }
        else ranks = options.Ranks ?? DefaultInProcessRanks;
        if (ranks < 1) throw new TrainingException($"--ranks must be at least 1, but was {ranks}.");

        var algorithm = options.Algorithm.Trim().ToLowerInvariant() switch
        {
            "auto" => AllReduceAlgorithm.Auto,
            "ring" => AllReduceAlgorithm.Ring,
            "tree" => AllReduceAlgorithm.Tree,
            "rd" or "recursive-doubling" => AllReduceAlgorithm.RecursiveDoubling,
            "rh" or "recursive-halving" => AllReduceAlgorithm.RecursiveHalving,
            "native" => AllReduceAlgorithm.Native,
            "hierarchical" or "hier" => AllReduceAlgorithm.Hierarchical,
            _ => throw new TrainingException($"--algorithm '{options.Algorithm}' is unknown; use auto, ring, tree, rd (recursive doubling), rh (recursive halving), native or hierarchical."),
        };
        if (algorithm == AllReduceAlgorithm.Native && launchedRanks is null)
            throw new TrainingException("--algorithm native needs the MPI transport (run under mpiexec); in-process ranks have no native AllReduce.");

        int[] layers = ParseList(options.Layers, "--layers");
        if (layers.Length < 2) throw new TrainingException($"--layers '{options.Layers}' needs at least an input and an output size, e.g. 784,256,128,10.");
        if (layers.Any(s => s <= 0)) throw new TrainingException($"--layers '{options.Layers}' has a size that is not positive.");
        if (layers[^1] < 2) throw new TrainingException($"--layers '{options.Layers}' ends with {layers[^1]} classes; a classifier needs at least 2.");

        string device = options.Device.Trim().ToLowerInvariant();
        if (!KernelBackends.Names.Contains(device))
            throw new TrainingException($"--device '{options.Device}' is unknown; use {string.Join(", ", KernelBackends.Names)}.");
        if (device == "cuda" && !KernelBackends.IsCudaAvailable())
            throw new TrainingException("--device cuda was requested, but no CUDA device was found; use --device auto or cpu.");

        if (options.Epochs < 1) throw new TrainingException($"--epochs must be at least 1, but was {options.Epochs}.");
        if (options.BatchSize < 1) throw new TrainingException($"--batch-size must be at least 1, but was {options.BatchSize}.");

        var kind = options.Optimizer.Trim().ToLowerInvariant() switch
        {
            "sgd" => OptimizerKind.Sgd,
            "adam" => OptimizerKind.Adam,
            _ => throw new TrainingException($"--optimizer '{options.Optimizer}' is unknown; use sgd or adam."),
        };
        // Downpour's servers and Hogwild, like ps --async, apply stale gradients on arrival: the same defaults (lr 0.2, no momentum).
        bool asyncPs = (strategy == StrategyKind.ParameterServer && options.Async) || strategy == StrategyKind.Downpour || strategy == StrategyKind.Hogwild;
        float lr = options.LearningRate ?? (kind == OptimizerKind.Adam ? 1e-3f : asyncPs ? 0.2f : 0.05f);
        var federated = FederatedSettingsValidator.Validate(options, strategy);
        var dp = DpSettingsValidator.Validate(options, strategy);
        // Federated clients run plain local SGD by default, as in the FedAvg paper and Flower's examples.
        float momentum = options.Momentum ?? (asyncPs || federated is not null ? 0f : 0.9f);
        if (!(lr > 0) || !float.IsFinite(lr)) throw new TrainingException($"--lr must be positive, but was {lr}.");
        bool cosine = options.LrSchedule.Trim().ToLowerInvariant() switch
        {
            "cosine" => true,
            "constant" => false,
            _ => throw new TrainingException($"--lr-schedule '{options.LrSchedule}' is unknown; use cosine or constant."),
        };
        if (!(momentum >= 0 && momentum < 1)) throw new TrainingException($"--momentum must be in [0, 1), but was {momentum}.");
        if (!(options.WeightDecay >= 0) || !float.IsFinite(options.WeightDecay)) throw new TrainingException($"--weight-decay must be non-negative, but was {options.WeightDecay}.");

        if (federated is not null && kind != OptimizerKind.Sgd)
            throw new TrainingException($"--optimizer {options.Optimizer} is not available to federated clients: they run local SGD (--lr, --momentum); server-side momentum is --strategy fedavgm.");
        if (options.Sync && options.Async) throw new TrainingException("--sync and --async exclude each other; pick one.");
        if ((options.Sync || options.Async) && strategy != StrategyKind.ParameterServer)
            throw new TrainingException($"--{(options.Async ? "async" : "sync")} applies to --strategy ps only.");
        if (strategy == StrategyKind.ParameterServer)
        {
            if (options.Servers < 1) throw new TrainingException($"--servers must be at least 1, but was {options.Servers}.");
            if (options.Servers >= ranks)
                throw new TrainingException($"--servers {options.Servers} must be fewer than the {ranks} ranks, so that at least one rank is a worker.");
        }
        if (options.Staleness < 0) throw new TrainingException($"--staleness must be at least 0, but was {options.Staleness}.");

        int workers = strategy == StrategyKind.ParameterServer ? ranks - options.Servers : ranks;
        // Tensor parallelism gives every rank the whole batch, so any batch will do.
        if (strategy is not (StrategyKind.Pipeline or StrategyKind.Hybrid or StrategyKind.Downpour or StrategyKind.Tensor) && federated is null && options.BatchSize < workers)
            throw new TrainingException($"--batch-size {options.BatchSize} is smaller than the {workers} ranks computing gradients; every rank needs at least one sample per step.");

        if (options.MicroBatches < 1) throw new TrainingException($"--micro-batches must be at least 1, but was {options.MicroBatches}.");
        if (options.MicroBatches > options.BatchSize)
            throw new TrainingException($"--micro-batches {options.MicroBatches} exceeds --batch-size {options.BatchSize}; each micro-batch needs at least one sample.");
        int[] split = [];
        if (strategy == StrategyKind.Pipeline) split = ValidateSplit(options.Split, layers.Length - 1, ranks);
        var grid = HybridSettingsValidator.Validate(options, strategy, ranks, layers.Length - 1);
        if (grid is not null) split = grid.Split;
        else if (strategy != StrategyKind.Pipeline && options.Split is not null) throw new TrainingException("--split applies to --strategy pipeline, hybrid and downpour only.");

        if (options.Secure)
        {
            if (strategy != StrategyKind.Ddp) throw new TrainingException($"--secure applies to --strategy ddp only, not {options.Strategy}.");
            if (!(options.SecureClip > 0) || !float.IsFinite(options.SecureClip))
                throw new TrainingException($"--secure-clip must be finite and positive, but was {options.SecureClip}.");
            if (AllReduceNet.Privacy.MaskedFormat.FinestSafeBits(options.SecureClip, ranks) < 0)
                throw new TrainingException($"--secure-clip {options.SecureClip} cannot be summed over {ranks} ranks in 32 bits without overflow ({ranks} x ({options.SecureClip} + 1/2) > 2^31 - 1); lower it.");
            if (options.SecureNeighbours is < 1) throw new TrainingException($"--secure-neighbours must be at least 1, but was {options.SecureNeighbours}.");
        }
        else if (options.SecureNeighbours is not null) throw new TrainingException("--secure-neighbours applies with --secure only.");

        var reproducibleSum = ReproducibleSumKind.Tree;
        if (options.Reproducible)
        {
            if (strategy != StrategyKind.Ddp) throw new TrainingException($"--reproducible applies to --strategy ddp only, not {options.Strategy}.");
            if (options.Secure) throw new TrainingException("--reproducible and --secure cannot be combined: the masked sum quantizes the gradients its own way.");
            if (options.Dp) throw new TrainingException("--reproducible and --dp cannot be combined: DP-SGD's Poisson batches and noise shares are drawn per rank, so they differ with the rank count.");
            int parts = options.ReproducibleParts;
            if (parts < 1 || parts > options.BatchSize || parts > AllReduceNet.Collectives.Communicator.MaxReproducibleAddends)
                throw new TrainingException($"--reproducible-parts must be from 1 to --batch-size {options.BatchSize} (and at most {AllReduceNet.Collectives.Communicator.MaxReproducibleAddends}), but was {parts}.");
            if (parts % ranks != 0)
                throw new TrainingException($"--reproducible-parts {parts} is not a multiple of the {ranks} ranks: every rank must hold the same number of micro-batches.");
            reproducibleSum = ValidateReproducibleSum(options, parts, ranks, algorithm);
        }

        if (options.Synthetic is int synthetic && synthetic < options.BatchSize)
            throw new TrainingException($"--synthetic {synthetic} is smaller than --batch-size {options.BatchSize}: not one step per epoch.");
        string normalize = options.Normalize.Trim().ToLowerInvariant();
        if (normalize is not ("standardize" or "scale" or "per-sample"))
            throw new TrainingException($"--normalize '{options.Normalize}' is unknown; use standardize, scale or per-sample.");
        if (normalize == "per-sample" && options.ExportOnnx is not null)
            throw new TrainingException("--export-onnx cannot carry --normalize per-sample (the graph holds only a fixed standardization); use --export-model, or standardize or scale.");
        if (options.Resume && options.NoCheckpoint) throw new TrainingException("--resume needs a checkpoint, but --no-checkpoint was given.");
        if (options.ExportModel is { } export)
        {
            string version = Path.GetFileName(Path.TrimEndingDirectorySeparator(export));
            if (!long.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)
                || string.IsNullOrEmpty(Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(export)))))
                throw new TrainingException($"--export-model '{export}' must be a NAME/VERSION directory with a numeric VERSION (e.g. models/fashion/1), as Serve.dll's repository expects.");
            if (File.Exists(export)) throw new TrainingException($"--export-model '{export}' is a file; it must be a directory.");
        }
        if (options.ExportOnnx is { } onnx && (onnx.Length == 0 || Directory.Exists(onnx) || Path.EndsInDirectorySeparator(onnx)))
            throw new TrainingException($"--export-onnx '{onnx}' is a directory; it must name the .onnx file to write (e.g. models/fashion/1/model.onnx).");

        var gossip = GossipSettingsValidator.Validate(options, strategy, ranks, options.Seed);
        var ledger = LedgerSettingsValidator.Validate(options, strategy, ranks, ref federated);
        var compress = CompressionSettingsValidator.Validate(options, strategy, algorithm);
        HogwildSettingsValidator.Validate(options, strategy, launchedRanks, kind, momentum);
        if (strategy == StrategyKind.Tensor) ValidateTensorWidths(options, layers, ranks);

        return new TrainSettings
        {
            Strategy = strategy,
            Dp = dp,
            Ranks = ranks,
            Algorithm = algorithm,
            Layers = layers,
            Device = device,
            Epochs = federated is null ? options.Epochs : options.Rounds ?? FederatedSettingsValidator.DefaultRounds,
            BatchSize = options.BatchSize,
            Optimizer = new OptimizerSettings(kind, lr, momentum, options.WeightDecay),
            Seed = options.Seed,
            CosineSchedule = cosine,
            Overlap = !options.NoOverlap,
            Secure = options.Secure,
            SecureClip = options.SecureClip,
            SecureNeighbours = options.SecureNeighbours,
            Compress = compress,
            Reproducible = options.Reproducible,
            ReproducibleParts = options.ReproducibleParts,
            ReproducibleSum = reproducibleSum,
            Servers = options.Servers,
            Async = options.Async,
            Staleness = options.Staleness,
            MicroBatches = options.MicroBatches,
            Split = split,
            Stages = grid?.Stages ?? 1,
            PushEvery = grid?.PushEvery ?? 1,
            FetchEvery = grid?.FetchEvery ?? 1,
            CheckpointPath = options.NoCheckpoint ? null : options.Checkpoint,
            Resume = options.Resume,
            ExportModelPath = options.ExportModel is null ? null : Path.TrimEndingDirectorySeparator(options.ExportModel),
            ExportOnnxPath = options.ExportOnnx,
            LogJson = options.LogJson,
            Quiet = options.Quiet,
            Federated = federated,
            ParameterServerRule = RobustSettingsValidator.ValidateParameterServer(options, strategy, workers),
            Gossip = gossip,
            Ledger = ledger,
        };
    }

    internal static int[] ValidateSplit(string? text, int layerCount, int ranks)
    {
        if (text is null)
        {
            if (ranks > layerCount)
                throw new TrainingException($"pipeline: {layerCount} dense layer{(layerCount == 1 ? "" : "s")} cannot be split over {ranks} ranks (each stage needs at least one layer); use --ranks {layerCount} or fewer, or more layers.");
            var even = new int[ranks];
            for (int s = 0; s < ranks; s++) even[s] = layerCount * (s + 1) / ranks - layerCount * s / ranks;
            return even;
        }
        int[] split = ParseList(text, "--split");
        if (split.Length != ranks)
            throw new TrainingException($"--split '{text}' names {split.Length} stages, but there are {ranks} ranks; give one entry per rank.");
        if (split.Any(s => s < 1)) throw new TrainingException($"--split '{text}' gives a stage no layers; each stage needs at least one.");
        if (split.Sum() != layerCount)
            throw new TrainingException($"--split '{text}' covers {split.Sum()} layers, but the model has {layerCount} dense layers.");
        return split;
    }

    /// <summary>--reproducible-sum: tree needs power-of-two parts (so ranks too, as they divide it) and recursive
    /// doubling, whose order is the tree's upper levels; exact takes anything the exact sum does.</summary>
    private static ReproducibleSumKind ValidateReproducibleSum(TrainOptions options, int parts, int ranks, AllReduceAlgorithm algorithm)
    {
        var sum = options.ReproducibleSum.Trim().ToLowerInvariant() switch
        {
            "tree" => ReproducibleSumKind.Tree,
            "exact" => ReproducibleSumKind.Exact,
            _ => throw new TrainingException($"--reproducible-sum '{options.ReproducibleSum}' is unknown; use tree or exact."),
        };
        if (sum == ReproducibleSumKind.Exact) return sum;
        if (!System.Numerics.BitOperations.IsPow2(parts))
            throw new TrainingException($"--reproducible-sum tree needs --reproducible-parts to be a power of two (the micro-batches are the leaves of a balanced binary tree), but it was {parts}; use --reproducible-sum exact for {parts} parts on {ranks} ranks.");
        if (algorithm is not (AllReduceAlgorithm.Auto or AllReduceAlgorithm.RecursiveDoubling or AllReduceAlgorithm.RecursiveHalving))
            throw new TrainingException($"--reproducible-sum tree adds the ranks' gradients in the tree's order, which only recursive doubling and recursive halving follow, so --algorithm {options.Algorithm} cannot serve it; use --algorithm auto, rd or rh, or --reproducible-sum exact.");
        string? flag = Environment.GetEnvironmentVariable("ALLREDUCENET_REPRODUCIBLE")?.Trim();
        if (!string.IsNullOrEmpty(flag) && flag is not ("0" or "false" or "False" or "FALSE" or "no" or "off"))
            throw new TrainingException($"ALLREDUCENET_REPRODUCIBLE={flag} turns every float AllReduce into the fixed-point sum, which would replace the tree's upper levels and break --reproducible-sum tree; unset it, or use --reproducible-sum exact.");
        return sum;
    }

    private static int[] ParseList(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out values[i]))
                throw new TrainingException($"{option} '{text}' is not a comma-separated list of integers ('{parts[i]}').");
        return values;
    }

    /// <summary>--strategy tensor splits every column layer's outputs over the ranks: each rank needs at least one.</summary>
    private static void ValidateTensorWidths(TrainOptions options, int[] layers, int ranks)
    {
        for (int l = 0; l < layers.Length - 2; l += 2)
            if (layers[l + 1] < ranks)
                throw new TrainingException($"--strategy tensor splits layer {l}'s {layers[l + 1]} outputs (--layers '{options.Layers}') over the {ranks} ranks, and each rank needs at least one; use at most {layers[l + 1]} ranks or a wider layer.");
    }
}
