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
    /// <summary>Lock-free asynchronous SGD on one shared copy of the parameters, in-process only (Strategies/Hogwild).</summary>
    Hogwild,
}
