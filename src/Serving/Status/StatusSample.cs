namespace AllReduceNet.Serving.Status;

/// <summary>The server at one moment, as the history keeps it: cumulative counts, so that the traffic of an interval
/// is the difference of two samples whatever the interval was.</summary>
/// <param name="At">When it was taken.</param>
/// <param name="Versions">Every version that had requests or is served.</param>
/// <param name="Experiments">Every model's latest experiment.</param>
internal sealed record StatusSample(DateTimeOffset At, IReadOnlyList<VersionSample> Versions, IReadOnlyList<ExperimentSample> Experiments);

/// <summary>One version in a sample.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Version">Version.</param>
/// <param name="Requests">Requests so far (answered or refused).</param>
/// <param name="FeedbackAccuracy">Accuracy over the version's latest labeled rows (the drift monitor's), or null before any label.</param>
/// <param name="FeedbackLabeled">How many labeled rows that accuracy is over.</param>
internal sealed record VersionSample(string Model, string Version, long Requests, double? FeedbackAccuracy, int FeedbackLabeled);

/// <summary>One experiment in a sample.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Started">When it started (with the model, it names the experiment).</param>
/// <param name="ControlAccuracy">The control's accuracy over its labeled answers, or null before any.</param>
/// <param name="CandidateAccuracy">The candidate's.</param>
/// <param name="PValue">The always-valid p-value then.</param>
/// <param name="LikelihoodRatio">The mixture likelihood ratio then.</param>
internal sealed record ExperimentSample(string Model, DateTimeOffset Started, double? ControlAccuracy, double? CandidateAccuracy, double PValue, double LikelihoodRatio);
