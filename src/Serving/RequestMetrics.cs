using System.Diagnostics;

namespace AllReduceNet.Serving;

/// <summary>
/// Counts inference requests by model, version and final status code, and times them. A handler calls
/// <see cref="Track"/> once it knows the model version; the middleware, outside the error handler, sees the status
/// actually sent. Requests for unknown models are not counted: their names would be unbounded label values.
/// </summary>
internal static class RequestMetrics
{
    private const string ModelKey = "allreducenet.served-model";

    /// <summary>Marks the request as one to <paramref name="model"/> and counts it in flight until it is answered.</summary>
    public static void Track(HttpContext context, ServedModel model)
    {
        if (context.Items.ContainsKey(ModelKey)) return;
        context.Items[ModelKey] = model;
        context.RequestServices.GetRequiredService<ServingMetrics>().InFlight.WithLabels(model.Name, model.Version).Inc();
    }

    /// <summary>The model version <see cref="Track"/> marked the request as one to, or null.</summary>
    public static ServedModel? TrackedModel(HttpContext context) =>
        context.Items.TryGetValue(ModelKey, out var item) ? item as ServedModel : null;

    /// <summary>The middleware: runs the rest of the pipeline, then records what <see cref="Track"/> marked.</summary>
    public static async Task Measure(HttpContext context, Func<Task> next)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            await next();
        }
        finally
        {
            if (TrackedModel(context) is { } model)
            {
                var metrics = context.RequestServices.GetRequiredService<ServingMetrics>();
                metrics.InFlight.WithLabels(model.Name, model.Version).Dec();
                metrics.Requests.WithLabels(model.Name, model.Version, context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
                double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                metrics.RequestSeconds.WithLabels(model.Name, model.Version).Observe(seconds);
                context.RequestServices.GetService<Status.ServedTraffic>()?.Record(model, context.Response.StatusCode, seconds * 1000);
            }
        }
    }
}
