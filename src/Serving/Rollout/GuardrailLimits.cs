using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>
/// When the candidate is rolled back whatever its accuracy: its error rate (5xx answers) exceeds the control's by more
/// than <paramref name="MaxErrorRateIncrease"/>, or its p99 latency exceeds <paramref name="MaxP99Ratio"/> times the
/// control's and by more than <paramref name="MinP99IncreaseMs"/> (so that sub-millisecond jitter is no regression);
/// judged only once each variant has answered <paramref name="MinRequests"/> requests.
/// </summary>
internal sealed record GuardrailLimits(double MaxErrorRateIncrease = 0.02, double MaxP99Ratio = 2.0, double MinP99IncreaseMs = 5, int MinRequests = 100)
{
    /// <summary>Reads the optional "guardrails" object of an experiment.</summary>
    /// <exception cref="ApiException">400 naming the field that is wrong.</exception>
    public static GuardrailLimits Parse(JsonElement experiment)
    {
        var limits = new GuardrailLimits();
        if (!experiment.TryGetProperty("guardrails", out var root) || root.ValueKind == JsonValueKind.Null) return limits;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'guardrails' must be an object.");
        double errors = ExperimentSettings.Number(root, "max_error_rate_increase", "guardrails.max_error_rate_increase") ?? limits.MaxErrorRateIncrease;
        if (errors < 0 || errors > 1)
            throw ApiException.BadRequest($"'guardrails.max_error_rate_increase' is {ExperimentSettings.Show(errors)}, but must be a fraction in [0, 1].");
        double ratio = ExperimentSettings.Number(root, "max_p99_ratio", "guardrails.max_p99_ratio") ?? limits.MaxP99Ratio;
        if (ratio < 1) throw ApiException.BadRequest($"'guardrails.max_p99_ratio' is {ExperimentSettings.Show(ratio)}, but must be at least 1.");
        double slack = ExperimentSettings.Number(root, "min_p99_increase_ms", "guardrails.min_p99_increase_ms") ?? limits.MinP99IncreaseMs;
        if (slack < 0) throw ApiException.BadRequest($"'guardrails.min_p99_increase_ms' is {ExperimentSettings.Show(slack)}, but must not be negative.");
        double minimum = ExperimentSettings.Number(root, "min_requests", "guardrails.min_requests") ?? limits.MinRequests;
        if (minimum < 1 || minimum > int.MaxValue || minimum != Math.Floor(minimum))
            throw ApiException.BadRequest($"'guardrails.min_requests' is {ExperimentSettings.Show(minimum)}, but must be a positive integer.");
        return new GuardrailLimits(errors, ratio, slack, (int)minimum);
    }
}
