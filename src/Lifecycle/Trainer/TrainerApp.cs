using System.Text.Json;

namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>
/// The trainer service (<c>dotnet Lifecycle.dll trainer</c>): <c>POST /retrain</c> (API key; body
/// <c>{"reason": "manual|schedule|drift", "detail": "..."}</c>, optional; 202 with the job), <c>GET /jobs</c>,
/// <c>GET /jobs/{id}</c>, <c>/health/live</c>, <c>/health/ready</c>, and the --retrain-every schedule.
/// </summary>
public static class TrainerApp
{
    /// <summary>Builds the service from its command-line options (without the leading "trainer").</summary>
    /// <param name="args">Options, <c>--name value</c>; docs/lifecycle.md lists them.</param>
    /// <param name="configure">Changes to the builder before it is built (tests).</param>
    /// <returns>The application, not yet started.</returns>
    /// <exception cref="LifecycleConfigurationException">An option is missing or unusable.</exception>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ServiceHost.CreateBuilder(args, TrainerOptions.DefaultUrls, configure);
        var options = TrainerOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<RetrainService>();
        builder.Services.AddHostedService<RetrainSchedule>();
        var app = builder.Build();
        var service = app.Services.GetRequiredService<RetrainService>();
        // Stopping cancels a running job (its Train.dll is killed); wait for it to be recorded as failed.
        app.Lifetime.ApplicationStopped.Register(() => service.Idle.Wait(TimeSpan.FromSeconds(30)));
        ServiceHost.MapCommon(app, service.NotReady);
        app.MapPost("/retrain", RetrainAsync).AddEndpointFilter(KeyAuthorization.Require(options.ApiKey, $"--api-key (or {TrainerOptions.ApiKeyVariable})"));
        app.MapGet("/jobs", (RetrainService jobs) => Results.Json(new
        {
            model = options.Model,
            running = jobs.Jobs().FirstOrDefault(j => j.IsRunning)?.Id,
            retrain_every_seconds = options.RetrainEvery?.TotalSeconds,
            jobs = jobs.Jobs().Select(j => j.Describe()).ToArray(),
        }, ServiceHost.Json));
        app.MapGet("/jobs/{id}", (string id, RetrainService jobs) => jobs.Find(id) is { } job ? Results.Json(job.Describe(), ServiceHost.Json)
            : throw new HttpProblem(StatusCodes.Status404NotFound, $"no retrain job '{id}' (GET /jobs lists the latest {RetrainService.HistoryLength})."));
        ServiceHost.MapFallback(app);
        app.Logger.LogInformation("trainer for model '{Model}' of {Models}, server {Server}, launcher {Launcher}{Every}", options.Model, options.Models, options.Server,
            options.Launcher, options.RetrainEvery is { } every ? $", retraining every {every}" : "");
        return app;
    }

    private static async Task<IResult> RetrainAsync(HttpContext context, RetrainService jobs)
    {
        string reason = "manual";
        string? detail = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            if (context.Request.ContentLength > 64 * 1024) throw new HttpProblem(StatusCodes.Status413PayloadTooLarge, "the body of POST /retrain is at most 64 KiB.");
            using var body = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            var root = body.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new HttpProblem(StatusCodes.Status400BadRequest, "the body must be a JSON object {\"reason\": \"manual|schedule|drift\", \"detail\": \"...\"}.");
            if (root.TryGetProperty("reason", out var r))
                reason = r.ValueKind == JsonValueKind.String ? r.GetString()! : throw new HttpProblem(StatusCodes.Status400BadRequest, "'reason' must be a string: manual, schedule or drift.");
            if (root.TryGetProperty("detail", out var d) && d.ValueKind != JsonValueKind.Null)
                detail = d.ValueKind == JsonValueKind.String ? d.GetString() : d.GetRawText();
        }
        var job = await jobs.StartAsync(reason, detail, context.RequestAborted);
        return Results.Json(job.Describe(), ServiceHost.Json, statusCode: StatusCodes.Status202Accepted);
    }
}
