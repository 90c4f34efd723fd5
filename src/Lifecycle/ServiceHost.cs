using System.Text.Json;

namespace AllReduceNet.Lifecycle;

/// <summary>What the trainer and the monitor share as web services: the default address (loopback only), JSON errors, and /health/live and /health/ready.</summary>
internal static class ServiceHost
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = null, WriteIndented = false };

    public static WebApplicationBuilder CreateBuilder(string[] args, string defaultUrls, Action<WebApplicationBuilder>? configure)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls(defaultUrls);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        // One line per request is Serve.dll's job; here only the services' own events and ASP.NET Core's warnings.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        configure?.Invoke(builder);
        return builder;
    }

    /// <summary>Maps the error handler, the health endpoints and the fallback 404.</summary>
    /// <param name="app">The service.</param>
    /// <param name="ready">Null when ready, else why not (answered with 503).</param>
    public static void MapCommon(WebApplication app, Func<string?> ready)
    {
        app.Use(RefuseWithJson);
        app.MapGet("/health/live", () => Results.Json(new { live = true }, Json));
        app.MapGet("/health/ready", () => ready() is { } why
            ? Results.Json(new { ready = false, reason = why }, Json, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(new { ready = true }, Json));
    }

    public static void MapFallback(WebApplication app) =>
        app.MapFallback(context => throw new HttpProblem(StatusCodes.Status404NotFound, $"no endpoint {context.Request.Method} {context.Request.Path}; see docs/lifecycle.md."));

    private static async Task RefuseWithJson(HttpContext context, Func<Task> next)
    {
        int status;
        string message;
        try
        {
            await next();
            return;
        }
        catch (HttpProblem e) { (status, message) = (e.StatusCode, e.Message); }
        catch (BadHttpRequestException e) { (status, message) = (e.StatusCode, e.Message); }
        catch (JsonException e) { (status, message) = (StatusCodes.Status400BadRequest, $"the body is not valid JSON: {e.Message}"); }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("AllReduceNet.Lifecycle").LogError(e, "request failed");
            (status, message) = (StatusCodes.Status500InternalServerError, "internal error");
        }
        if (context.Response.HasStarted) return;
        context.Response.Clear();
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["error"] = message });
    }
}
