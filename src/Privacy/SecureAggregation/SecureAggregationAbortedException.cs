namespace AllReduceNet.Privacy.SecureAggregation;

/// <summary>
/// A secure aggregation round was aborted: too few clients survived a stage for the threshold, or a secret could not be
/// reconstructed. Nothing of the round's sum is returned; the caller leaves its model unchanged and goes on.
/// </summary>
public sealed class SecureAggregationAbortedException : PrivacyException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="stage">The stage that could not complete.</param>
    /// <param name="message">What was short, with the counts.</param>
    public SecureAggregationAbortedException(SecAggStage stage, string message) : base(message) => Stage = stage;

    /// <summary>The stage that could not complete.</summary>
    public SecAggStage Stage { get; }
}
