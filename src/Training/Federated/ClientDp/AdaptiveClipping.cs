namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>
/// Adaptive clipping (Andrew et al. 2021, "Differentially Private Learning with Adaptive Clipping"): after each round
/// the clip norm moves geometrically towards the <see cref="TargetQuantile"/> of the clients' update norms,
/// C ← C · exp(−η_C (b̄ − γ)), where b̄ is the noised fraction of clients whose update norm was at most C.
/// </summary>
/// <param name="TargetQuantile">γ in (0, 1): the quantile of update norms the clip norm tracks (paper: 0.5).</param>
/// <param name="LearningRate">η_C &gt; 0: the step of the geometric update (paper: 0.2).</param>
/// <param name="CountNoise">σ_b &gt; 0: std of the Gaussian noise on the sum of the clipped-count bits (paper: m/20).</param>
internal sealed record AdaptiveClipping(double TargetQuantile, double LearningRate, double CountNoise);
