namespace AllReduceNet.Serving;

/// <summary>
/// Something that learns from true labels sent back for answered requests (<c>POST .../feedback</c>): the experiments
/// (per-variant accuracy, <see cref="ExperimentOutcomes"/>), and the drift monitor's per-window accuracy. A feedback
/// endpoint hands every label to every registered observer.
/// </summary>
internal interface IFeedbackObserver
{
    /// <summary>Takes the true labels of the rows of request <paramref name="requestId"/> (its X-Request-Id).</summary>
    /// <param name="model">The model name in the feedback's route.</param>
    /// <param name="requestId">The id the server answered the request with (the X-Request-Id response header).</param>
    /// <param name="labels">One true class per row of the request.</param>
    /// <returns>True when this observer knew the request and recorded the labels; false when the request is not one it saw.</returns>
    /// <exception cref="ApiException">400: a label is out of the model's class range or the count differs from the request's rows; 409: already labeled.</exception>
    bool Observe(string model, string requestId, IReadOnlyList<long> labels);
}
