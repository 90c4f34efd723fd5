namespace AllReduceNet.Training.Federated;

/// <summary>The server's and clients' update rules of a federated run.</summary>
internal enum FederatedAlgorithm
{
    /// <summary>McMahan et al. 2017: clients run local SGD, the server takes the sample-weighted mean of their models.</summary>
    FedAvg,
    /// <summary>Li et al. 2020: FedAvg whose clients add the proximal term (mu/2)||w - w_global||^2 to their loss.</summary>
    FedProx,
    /// <summary>Hsu et al. 2019: FedAvg whose server applies the mean update through momentum.</summary>
    FedAvgM,
}
