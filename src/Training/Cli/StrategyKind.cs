namespace AllReduceNet.Training.Cli;

/// <summary>The parallel training strategies.</summary>
internal enum StrategyKind
{
    Ddp,
    Zero,
    ParameterServer,
    Pipeline,
    /// <summary>Federated averaging over simulated clients (Federated/).</summary>
    FedAvg,
    /// <summary>FedAvg with the clients' proximal term.</summary>
    FedProx,
    /// <summary>FedAvg with server momentum.</summary>
    FedAvgM,
    /// <summary>Decentralized SGD: neighbour averaging over a graph, no AllReduce in training (Strategies/Gossip).</summary>
    Gossip,
    /// <summary>Pipeline stages x data-parallel replicas (Strategies/HybridStrategy).</summary>
    Hybrid,
    /// <summary>DistBelief's Downpour SGD: model-parallel replicas and a sharded asynchronous parameter server (Strategies/DownpourStrategy).</summary>
    Downpour,
    /// <summary>Peer-to-peer training with a verifiable update ledger (Biscotti): roles by stake, Multi-Krum, Shamir aggregation (Ledger/).</summary>
    P2PLedger,
    /// <summary>Lock-free asynchronous SGD on one shared copy of the parameters, in-process only (Strategies/Hogwild).</summary>
    Hogwild,
    /// <summary>Tensor (intra-layer) model parallelism: every rank runs the whole batch through its share of each layer (Strategies/TensorParallel).</summary>
    Tensor,
}
