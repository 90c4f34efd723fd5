using System.Globalization;
using System.Text.Json;

namespace AllReduceNet.Serving;

/// <summary>
/// How an A/B test of one model runs, as sent to <c>POST /v2/repository/models/{name}/experiment</c>:
/// <code>{"control": "1", "candidate": "2", "weights": {"control": 90, "candidate": 10}, "mode": "split",
///  "sticky_header": "X-User-Id", "alpha": 0.05, "tau": 0.05, "min_samples": 200, "auto": true,
///  "guardrails": {"max_error_rate_increase": 0.02, "max_p99_ratio": 2.0, "min_p99_increase_ms": 5, "min_requests": 100}}</code>
/// Only control and candidate are required. In "shadow" mode the control answers every request and the candidate
/// gets a copy whose answer is only recorded (so the weights, if given, must be 100/0).
/// </summary>
/// <param name="Control">The version serving now.</param>
/// <param name="Candidate">The version on trial.</param>
/// <param name="CandidatePercent">Share of the traffic the candidate answers, 0..100 (KServe's canaryTrafficPercent).</param>
/// <param name="Shadow">Shadow mode: the candidate only sees copies.</param>
/// <param name="StickyHeader">The request header whose value keeps a user on one variant; without it a request is assigned at random.</param>
/// <param name="Alpha">The sequential test's level: the chance of any wrong decision when the variants are equal.</param>
/// <param name="Tau">The mixing prior's standard deviation on the accuracy difference.</param>
/// <param name="MinSamples">Labeled requests each variant needs before the test may decide.</param>
/// <param name="AutoDecide">Promote or roll back as soon as the evidence says so (else only report it).</param>
/// <param name="Guardrails">The limits whose breach rolls the candidate back.</param>
internal sealed record ExperimentSettings(string Control, string Candidate, double CandidatePercent, bool Shadow, string StickyHeader,
    double Alpha, double Tau, int MinSamples, bool AutoDecide, GuardrailLimits Guardrails)
{
    public const string DefaultStickyHeader = "X-User-Id";
    public const double DefaultAlpha = 0.05;
    public const double DefaultTau = 0.05;
    public const int DefaultMinSamples = 200;
    public const double DefaultCandidatePercent = 10;

    /// <summary>Reads and checks the settings.</summary>
    /// <exception cref="ApiException">400 naming the field that is wrong.</exception>
    public static ExperimentSettings Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("the experiment must be a JSON object with at least 'control' and 'candidate'.");
        string control = Version(root, "control"), candidate = Version(root, "candidate");
        string mode = String(root, "mode") ?? "split";
        if (mode is not ("split" or "shadow")) throw ApiException.BadRequest($"'mode' is '{mode}', but must be 'split' or 'shadow'.");
        bool shadow = mode == "shadow";
        double candidatePercent = shadow ? 0 : DefaultCandidatePercent;
        if (root.TryGetProperty("weights", out var weights) && weights.ValueKind != JsonValueKind.Null)
        {
            if (weights.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'weights' must be {\"control\": W, \"candidate\": W} summing to 100.");
            double controlWeight = Number(weights, "control", "weights.control") ?? throw ApiException.BadRequest("'weights' needs 'control'.");
            double candidateWeight = Number(weights, "candidate", "weights.candidate") ?? throw ApiException.BadRequest("'weights' needs 'candidate'.");
            if (controlWeight < 0 || candidateWeight < 0)
                throw ApiException.BadRequest($"weights must not be negative (control {Show(controlWeight)}, candidate {Show(candidateWeight)}).");
            if (Math.Abs(controlWeight + candidateWeight - 100) > 1e-9)
                throw ApiException.BadRequest($"weights must sum to 100, but control {Show(controlWeight)} + candidate {Show(candidateWeight)} = {Show(controlWeight + candidateWeight)}.");
            if (shadow && candidateWeight != 0)
                throw ApiException.BadRequest("in shadow mode the control answers every request: weights must be control 100, candidate 0.");
            candidatePercent = candidateWeight;
        }
        string sticky = String(root, "sticky_header") ?? DefaultStickyHeader;
        if (sticky.Length == 0 || sticky.Any(c => c is <= ' ' or > '~' or ':'))
            throw ApiException.BadRequest($"'sticky_header' is '{sticky}', but must be an HTTP header name.");
        double alpha = Number(root, "alpha", "alpha") ?? DefaultAlpha;
        if (!(alpha > 0 && alpha < 1)) throw ApiException.BadRequest($"'alpha' is {Show(alpha)}, but must be between 0 and 1 (exclusive).");
        double tau = Number(root, "tau", "tau") ?? DefaultTau;
        if (!(tau > 0 && tau <= 1)) throw ApiException.BadRequest($"'tau' is {Show(tau)}, but must be in (0, 1]: the prior's spread of the accuracy difference.");
        double minSamples = Number(root, "min_samples", "min_samples") ?? DefaultMinSamples;
        if (minSamples < 1 || minSamples > int.MaxValue || minSamples != Math.Floor(minSamples))
            throw ApiException.BadRequest($"'min_samples' is {Show(minSamples)}, but must be a positive integer.");
        bool auto = true;
        if (root.TryGetProperty("auto", out var autoElement) && autoElement.ValueKind != JsonValueKind.Null)
            auto = autoElement.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw ApiException.BadRequest($"'auto' must be true or false, not {autoElement.GetRawText()}."),
            };
        return new ExperimentSettings(control, candidate, candidatePercent, shadow, sticky, alpha, tau, (int)minSamples, auto, GuardrailLimits.Parse(root));
    }

    private static string Version(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest($"the experiment needs '{field}', a served version of the model.");
        string? text = element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number when element.TryGetInt64(out long v) => v.ToString(CultureInfo.InvariantCulture),
            _ => null,
        };
        if (string.IsNullOrEmpty(text)) throw ApiException.BadRequest($"'{field}' must be a version number, not {element.GetRawText()}.");
        return text;
    }

    internal static string? String(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null) return null;
        return element.ValueKind == JsonValueKind.String ? element.GetString() : throw ApiException.BadRequest($"'{field}' must be a string, not {element.GetRawText()}.");
    }

    internal static double? Number(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null) return null;
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out double value) || !double.IsFinite(value))
            throw ApiException.BadRequest($"'{path}' must be a number, not {element.GetRawText()}.");
        return value;
    }

    internal static string Show(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
