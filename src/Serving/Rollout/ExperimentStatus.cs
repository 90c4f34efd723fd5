namespace AllReduceNet.Serving;

/// <summary>An experiment as JSON (the status endpoint and the decision log): settings, per-variant figures, the test's evidence, the decision.</summary>
internal static class ExperimentStatus
{
    public static Dictionary<string, object?> Describe(Experiment experiment)
    {
        var settings = experiment.Settings;
        var decision = experiment.Decision;
        var evidence = decision?.Evidence ?? experiment.Evidence();
        return new Dictionary<string, object?>
        {
            ["model"] = experiment.Model,
            ["state"] = decision is null ? "running" : decision.Action switch { "promote" => "promoted", "rollback" => "rolled_back", _ => "stopped" },
            ["started"] = experiment.Started,
            ["mode"] = settings.Shadow ? "shadow" : "split",
            ["weights"] = new { control = 100 - settings.CandidatePercent, candidate = settings.CandidatePercent },
            ["sticky_header"] = settings.StickyHeader,
            ["test"] = new
            {
                kind = "mSPRT, difference of two proportions (normal approximation, pooled variance, N(0, tau^2) mixture)",
                alpha = settings.Alpha,
                tau = settings.Tau,
                min_samples = settings.MinSamples,
                auto = settings.AutoDecide,
                watching = evidence.Testing,
                difference = Finite(evidence.Difference),
                likelihood_ratio = Finite(evidence.LikelihoodRatio),
                threshold = 1 / settings.Alpha,
                p_value = evidence.PValue,
            },
            ["guardrails"] = new
            {
                max_error_rate_increase = settings.Guardrails.MaxErrorRateIncrease,
                max_p99_ratio = settings.Guardrails.MaxP99Ratio,
                min_p99_increase_ms = settings.Guardrails.MinP99IncreaseMs,
                min_requests = settings.Guardrails.MinRequests,
            },
            ["variants"] = new Dictionary<string, object>
            {
                ["control"] = Variant(settings.Control, evidence.Control),
                ["candidate"] = Variant(settings.Candidate, evidence.Candidate),
            },
            ["decision"] = decision is null ? null : new Dictionary<string, object?>
            {
                ["action"] = decision.Action,
                ["reason"] = decision.Reason,
                ["automatic"] = decision.Automatic,
                ["time"] = decision.Time,
                ["served_version"] = decision.ServedVersion,
            },
        };
    }

    private static object Variant(string version, VariantStats.Snapshot stats) => new
    {
        version,
        requests = stats.Requests,
        errors = stats.Errors,
        error_rate = stats.ErrorRate,
        latency_p50_ms = Finite(stats.P50Ms),
        latency_p99_ms = Finite(stats.P99Ms),
        labeled = stats.Labeled,
        correct = stats.Correct,
        accuracy = Finite(stats.Accuracy),
    };

    // JSON has no NaN or infinity: an undefined figure (no data yet) is null.
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
