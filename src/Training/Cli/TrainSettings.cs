using AllReduceNet.Collectives;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Cli;

/// <summary>Validated settings of one training run (see <see cref="TrainOptions"/> for their meaning).</summary>
internal sealed record TrainSettings
{
    public StrategyKind Strategy { get; init; } = StrategyKind.Ddp;
    public int Ranks { get; init; } = 1;
    public AllReduceAlgorithm Algorithm { get; init; } = AllReduceAlgorithm.Auto;
    public int[] Layers { get; init; } = [784, 256, 128, 10];
    public string Device { get; init; } = "cpu";
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public OptimizerSettings Optimizer { get; init; } = new(OptimizerKind.Sgd, 0.05f, 0.9f, 0f);
    public int Seed { get; init; } = 1;
    /// <summary>Cosine learning-rate decay over the epochs (else constant).</summary>
    public bool CosineSchedule { get; init; }
    /// <summary>ddp: start each bucket's AllReduce during the backward pass (non-blocking).</summary>
    public bool Overlap { get; init; } = true;
    /// <summary>ddp: gradients summed by the masked AllReduce, clipped to [-SecureClip, SecureClip].</summary>
    public bool Secure { get; init; }
    public float SecureClip { get; init; } = 1f;
    /// <summary>ddp --secure: mask with this many ranks on either side; null for all pairs.</summary>
    public int? SecureNeighbours { get; init; }
    /// <summary>ddp --compress: the gradient compressor (docs/compression.md); null sends fp32.</summary>
    public Compression.CompressionSpec? Compress { get; init; }
    /// <summary>ddp: each global batch's gradient is the sum of <see cref="ReproducibleParts"/> fixed micro-batches' gradients in an order that does not depend on the rank count (<see cref="ReproducibleSum"/>), so neither does the model.</summary>
    public bool Reproducible { get; init; }
    /// <summary>ddp --reproducible: micro-batches per global batch (a multiple of the rank count).</summary>
    public int ReproducibleParts { get; init; } = 8;
    /// <summary>ddp --reproducible: how the micro-batch gradients are summed (--reproducible-sum).</summary>
    public ReproducibleSumKind ReproducibleSum { get; init; } = ReproducibleSumKind.Tree;
    public int Servers { get; init; } = 1;
    public bool Async { get; init; }
    /// <summary>ps --sync --aggregator: the robust rule each server applies to the workers' pushes of its shard; null: their sum.</summary>
    public Federated.IRobustRule? ParameterServerRule { get; init; }
    public int Staleness { get; init; } = 4;
    public int MicroBatches { get; init; } = 4;
    /// <summary>Dense layers per pipeline stage, one entry per rank.</summary>
    public int[] Split { get; init; } = [];
    /// <summary>hybrid, downpour: pipeline stages per replica (<see cref="Split"/> has one entry per stage).</summary>
    public int Stages { get; init; } = 1;
    /// <summary>downpour: a replica pushes its accumulated gradient every this many steps.</summary>
    public int PushEvery { get; init; } = 1;
    /// <summary>downpour: a replica fetches fresh parameters every this many steps.</summary>
    public int FetchEvery { get; init; } = 1;
    public string? CheckpointPath { get; init; }
    public bool Resume { get; init; }
    /// <summary>The NAME/VERSION directory that receives model.ckpt and preprocess.json after training, or null.</summary>
    public string? ExportModelPath { get; init; }
    /// <summary>The .onnx file written after training, or null.</summary>
    public string? ExportOnnxPath { get; init; }
    public string? LogJson { get; init; }
    public bool Quiet { get; init; }
    /// <summary>The federated strategies' settings (clients, partition, rounds = <see cref="Epochs"/>); null for the others.</summary>
    public Federated.FederatedSettings? Federated { get; init; }
    /// <summary>--dp: the validated DP-SGD options; null without --dp.</summary>
    public Privacy.DpSgdOptions? Dp { get; init; }
    /// <summary>--dp: the plan resolved before the ranks start (σ, sampling, ledger, run id); null without --dp.</summary>
    public Privacy.DpSgdPlan? DpPlan { get; init; }
    /// <summary>Decentralized SGD's settings; null for the other strategies.</summary>
    public Strategies.Gossip.GossipSettings? Gossip { get; init; }
    /// <summary>--strategy p2p-ledger's settings; null for the other strategies.</summary>
    public Ledger.LedgerSettings? Ledger { get; init; }

    /// <summary>Ranks that compute gradients: all but the servers under ps.</summary>
    public int Workers => Strategy is StrategyKind.ParameterServer or StrategyKind.Downpour ? Ranks - Servers : Ranks;

    public string StrategyName => Strategy switch
    {
        StrategyKind.Ddp => Compress is { } compress ? $"ddp --compress {compress}" : "ddp",
        StrategyKind.Hogwild => "hogwild",
        StrategyKind.Tensor => "tensor",
        StrategyKind.Zero => "zero",
        StrategyKind.ParameterServer => Async ? $"ps --async (servers {Servers}, staleness {Staleness})" : $"ps --sync (servers {Servers})",
        StrategyKind.FedAvg or StrategyKind.FedProx or StrategyKind.FedAvgM => Federated?.Describe() ?? Strategy.ToString().ToLowerInvariant(),
        StrategyKind.Gossip => Gossip?.Describe() ?? "gossip",
        StrategyKind.Hybrid => $"hybrid ({Stages} stages x {Ranks / Stages} replicas, layers per stage {string.Join(",", Split)}, micro-batches {MicroBatches})",
        StrategyKind.Downpour => $"downpour ({(Ranks - Servers) / Stages} replicas of {Stages} stage{(Stages == 1 ? "" : "s")}, {Servers} server{(Servers == 1 ? "" : "s")}, push every {PushEvery}, fetch every {FetchEvery})",
        StrategyKind.P2PLedger => Ledger?.Describe() ?? "p2p-ledger",
        _ => $"pipeline (stages {string.Join(",", Split)} layers, micro-batches {MicroBatches})",
    };
}
