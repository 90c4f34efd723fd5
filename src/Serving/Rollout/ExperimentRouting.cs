using System.Diagnostics;

namespace AllReduceNet.Serving;

/// <summary>
/// Where the inference endpoints meet the experiments. A request for a model's default version (no version in the
/// route) is routed by <see cref="VersionFor"/>: while an experiment runs, to the variant the user's sticky key (or a
/// random draw) falls on, answered with the header <c>X-Experiment-Variant</c> beside the body's model_version; after
/// a decision, to the version it pinned. <see cref="Answered"/> keeps the answer for its labels and, in shadow mode,
/// sends the candidate its copy after the client's answer is computed. <see cref="Measure"/> (middleware) records each
/// variant's latency and status once the answer is sent. A request naming its version is never rerouted.
/// </summary>
internal static class ExperimentRouting
{
    public const string VariantHeader = "X-Experiment-Variant";

    private const string ArmKey = "allreducenet.experiment-arm";

    private sealed record Arm(Experiment Experiment, Variant Variant);

    /// <summary>The version to serve a request for <paramref name="model"/> with: <paramref name="requested"/> when it
    /// names one; else the experiment's variant, or the pinned version, or null (the repository's default).</summary>
    public static string? VersionFor(HttpContext context, string model, string? requested)
    {
        if (requested is not null || context.RequestServices.GetService<ExperimentRegistry>() is not { } experiments) return requested;
        if (experiments.Running(model) is not { } experiment) return experiments.Pinned(model);
        var settings = experiment.Settings;
        string? key = context.Request.Headers[settings.StickyHeader];
        var variant = !settings.Shadow && StickyAssignment.IsCandidate(experiment.Salt, string.IsNullOrEmpty(key) ? null : key, settings.CandidatePercent)
            ? Variant.Candidate : Variant.Control;
        context.Items[ArmKey] = new Arm(experiment, variant);
        context.Response.Headers[VariantHeader] = variant == Variant.Control ? "control" : "candidate";
        return experiment.VersionOf(variant);
    }

    /// <summary>Keeps the answer of an experiment's request for its labels; in shadow mode sends the candidate a copy.</summary>
    public static void Answered(HttpContext context, ServedModel model, float[] input, int rows, long[] classes)
    {
        if (context.Items[ArmKey] is not Arm arm) return;
        var experiments = context.RequestServices.GetRequiredService<ExperimentRegistry>();
        var outcome = experiments.Outcomes.Add(context.TraceIdentifier, arm.Experiment, arm.Variant, classes, model.Classes);
        if (arm.Experiment.Settings.Shadow && arm.Experiment.IsRunning) experiments.Shadow(outcome, input, rows);
    }

    /// <summary>The middleware (outside the error handler, so it sees the status sent): times the variant's answer.</summary>
    public static async Task Measure(HttpContext context, Func<Task> next)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            await next();
        }
        finally
        {
            // A 4xx is the client's fault, not the variant's: only 5xx counts as an error.
            if (context.Items[ArmKey] is Arm arm && (context.Response.StatusCode < 400 || context.Response.StatusCode >= 500))
                arm.Experiment.RecordRequest(arm.Variant, Stopwatch.GetElapsedTime(started).TotalMilliseconds, error: context.Response.StatusCode >= 500);
        }
    }
}
