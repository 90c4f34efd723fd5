namespace AllReduceNet.Training.Federated;

/// <summary>
/// What one client reports at the end of a round, in the form every aggregator consumes: its sample-weighted model
/// delta with the weight appended, <c>[n_k (w_k - w), n_k]</c>, P + 1 floats. Summing these vectors element-wise
/// gives both the numerator and the denominator of the weighted mean, so an aggregator that can only sum (secure
/// aggregation) needs nothing else.
/// </summary>
/// <param name="Client">The client's id.</param>
/// <param name="Vector">P weighted delta entries, then the weight (the client's sample count).</param>
internal sealed record ClientUpdate(int Client, float[] Vector)
{
    /// <summary>The weight: the last element.</summary>
    public float Weight => Vector[^1];
}
