namespace AllReduceNet.Training.Federated.ClientDp;

/// <summary>What a round with client-level DP adds to its report.</summary>
/// <param name="Epsilon">User-level epsilon at <paramref name="Delta"/> of all rounds so far (+∞ without noise).</param>
/// <param name="Delta">δ.</param>
/// <param name="ClipNorm">The clip norm this round used.</param>
/// <param name="NextClipNorm">The clip norm of the next round (differs with adaptive clipping).</param>
internal sealed record ClientDpRoundReport(double Epsilon, double Delta, double ClipNorm, double NextClipNorm);
