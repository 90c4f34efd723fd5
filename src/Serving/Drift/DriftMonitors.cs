using System.Runtime.CompilerServices;

namespace AllReduceNet.Serving.Drift;

/// <summary>
/// The drift monitor of every served model version, made on the version's first answered request and living as long
/// as the version's <see cref="ServedModel"/> (a weak table: an unloaded version's monitor goes with it).
/// </summary>
internal sealed class DriftMonitors(DriftOptions options, DriftMetrics metrics, ILoggerFactory loggers)
{
    private readonly ConditionalWeakTable<ServedModel, DriftMonitor> _monitors = new();
    private readonly ILogger _logger = loggers.CreateLogger("AllReduceNet.Serving.Drift");

    /// <summary>The settings every monitor uses.</summary>
    public DriftOptions Options => options;

    /// <summary>The version's monitor, made when first asked for.</summary>
    public DriftMonitor For(ServedModel model) =>
        _monitors.GetValue(model, m => new DriftMonitor(m, options, metrics, _logger));

    /// <summary>Records an answered inference request with the monitor of the version that answered (the endpoints call this).</summary>
    /// <param name="context">The request (its X-Request-Id is the id feedback names).</param>
    /// <param name="model">The version that answered.</param>
    /// <param name="protocolId">The Open Inference Protocol <c>id</c> of the body, if any.</param>
    /// <param name="input">The request's rows as sent.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="classes">The predicted class of each row.</param>
    public static void Record(HttpContext context, ServedModel model, string? protocolId, float[] input, int rows, long[] classes) =>
        context.RequestServices.GetRequiredService<DriftMonitors>().For(model).Record(context.TraceIdentifier, protocolId, input, rows, classes);
}
