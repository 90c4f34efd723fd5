using System.Security.Cryptography;
using System.Text.Json;
using AllReduceNet.Serving.Drift;

namespace AllReduceNet.Serving.Status;

/// <summary>
/// <c>GET /status</c>: the status page (HTML, self-contained, read-only), and <c>GET /status.json</c>: the same data as
/// JSON. Neither needs the API key: they show counts, rates, latencies, accuracies and test results, never a request's
/// inputs. docs/status-page.md.
/// </summary>
internal static class StatusEndpoints
{
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = false };

    /// <summary>Registers the history, its sampler and the per-version traffic record.</summary>
    /// <exception cref="ServingConfigurationException">A --status-* option is unusable.</exception>
    public static void AddServices(WebApplicationBuilder builder)
    {
        var options = StatusOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new StatusHistory(options.HistoryLength));
        builder.Services.AddSingleton<ServedTraffic>();
        builder.Services.AddSingleton<StatusSampler>();
        builder.Services.AddHostedService(services => services.GetRequiredService<StatusSampler>());
    }

    public static void Map(WebApplication app)
    {
        // The sampler (a hosted service) needs the experiment registry, which reads the experiment logs: made here,
        // inside ServingApp.Build, an unreadable log is refused at start with its message (Serve prints it, exit 2)
        // instead of failing the host's start with a stack trace.
        app.Services.GetRequiredService<ExperimentRegistry>();
        app.MapGet("/status", (HttpContext context) =>
        {
            // A fresh nonce per answer: the page's own inline script runs, nothing injected could.
            string nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = $"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers.CacheControl = "no-store";
            return Results.Content(StatusPage.Render(View(context), nonce), "text/html; charset=utf-8");
        });
        app.MapGet("/status.json", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(View(context), JsonOptions);
        });
    }

    private static StatusView View(HttpContext context)
    {
        var services = context.RequestServices;
        return StatusReport.Build(services.GetRequiredService<StatusHistory>(), services.GetRequiredService<StatusOptions>(),
            services.GetRequiredService<ServedTraffic>(), services.GetRequiredService<ModelRepository>(), services.GetRequiredService<DriftMonitors>(),
            services.GetRequiredService<ExperimentRegistry>());
    }
}
