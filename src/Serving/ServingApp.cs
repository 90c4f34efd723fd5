using System.Text.Json;
using Prometheus;

namespace AllReduceNet.Serving;

/// <summary>Builds the web application: options, model repository, error handling and endpoints.</summary>
public static class ServingApp
{
    /// <summary>Builds the server from command-line arguments.</summary>
    /// <param name="args">Arguments: --models DIR, optionally --urls, --max-body-bytes, --max-batch, --max-queue-delay-us, --max-queue, --version-policy, --api-key.</param>
    /// <param name="configure">Changes to the builder before it is built (tests use a test server here).</param>
    /// <returns>The application, not yet started; it owns the loaded models.</returns>
    /// <exception cref="ServingConfigurationException">The options or the model repository are unusable.</exception>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls(ServingOptions.DefaultUrls);
        // The limit is enforced while reading (JsonBody); Kestrel's own is raised so that it never answers first with an empty 413.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = null);
        ServingLogs.Configure(builder);
        configure?.Invoke(builder);
        var options = ServingOptions.From(builder.Configuration);
        var metrics = new ServingMetrics();
        var repository = new ModelRepository(options, metrics);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(repository);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton<BatchScheduler>();
        builder.Services.AddSingleton<ExperimentRegistry>();
        builder.Services.AddSingleton<IFeedbackObserver>(services => services.GetRequiredService<ExperimentRegistry>().Outcomes);
        Drift.DriftEndpoints.AddServices(builder);
        Status.StatusEndpoints.AddServices(builder);
        // Stopping waits for the queues to drain, so the models (disposed when stopped) outlive every batch.
        builder.Services.AddHostedService(services => services.GetRequiredService<BatchScheduler>());

        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(repository.Dispose);
        app.Use(RequestLogging.Middleware(app.Services.GetRequiredService<ILoggerFactory>()));
        app.Use(RequestMetrics.Measure);
        app.Use(ExperimentRouting.Measure);
        app.Use(RefuseWithJson);
        InferenceEndpoints.Map(app);
        PredictEndpoint.Map(app);
        RepositoryEndpoints.Map(app);
        ExperimentEndpoints.Map(app);
        Drift.DriftEndpoints.Map(app);
        Status.StatusEndpoints.Map(app);
        Drift.FeedbackExportEndpoint.Map(app);
        app.MapMetrics("/metrics", app.Services.GetRequiredService<ServingMetrics>().Registry);
        app.MapFallback(context => throw ApiException.NotFound($"no endpoint {context.Request.Method} {context.Request.Path}; see docs/serving.md."));
        return app;
    }

    /// <summary>Answers every failure with JSON: a refused request with its 4xx (or 503 and Retry-After), anything else with a bare 500.</summary>
    private static async Task RefuseWithJson(HttpContext context, Func<Task> next)
    {
        int status;
        string message;
        int? retryAfter = null;
        try
        {
            await next();
            return;
        }
        catch (ApiException e) { (status, message, retryAfter) = (e.StatusCode, e.Message, e.RetryAfterSeconds); }
        catch (BadHttpRequestException e) { (status, message) = (e.StatusCode, e.Message); }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            context.RequestServices.GetRequiredService<ILogger<WebApplication>>().LogError(e, "request failed");
            (status, message) = (StatusCodes.Status500InternalServerError, "internal error");
        }
        RequestLogging.NoteRefusal(context, message);
        if (context.Response.HasStarted) return;
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (retryAfter is not null) context.Response.Headers.RetryAfter = retryAfter.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["error"] = message });
    }

    internal static IResult Json(object value) => Results.Json(value, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = null };
}
