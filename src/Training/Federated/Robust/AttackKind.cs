namespace AllReduceNet.Training.Federated;

/// <summary>What a malicious client does (--attack).</summary>
internal enum AttackKind
{
    /// <summary>Reports -K times its honest delta (signflip:K, K = 1 by default).</summary>
    SignFlip,
    /// <summary>Reports K times its honest delta (scale:K).</summary>
    Scale,
    /// <summary>Trains on its own data with every label y replaced by C - 1 - y.</summary>
    LabelFlip,
    /// <summary>Reports independent N(0, S^2) elements instead of a delta (gaussian:S, S = 1 by default).</summary>
    Gaussian,
    /// <summary>"A Little Is Enough" (Baruch et al. 2019): reports mu - z sigma of the benign deltas, per coordinate.</summary>
    Alie,
}
