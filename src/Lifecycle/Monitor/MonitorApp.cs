namespace AllReduceNet.Lifecycle.Monitor;

/// <summary>The monitor service (<c>dotnet Lifecycle.dll monitor</c>): <see cref="DriftWatcher"/> in the background,
/// <c>GET /state</c> (JSON), <c>/health/live</c> and <c>/health/ready</c> (ready once a poll of the server succeeded).</summary>
public static class MonitorApp
{
    /// <summary>Builds the service from its command-line options (without the leading "monitor").</summary>
    /// <param name="args">Options, <c>--name value</c>; docs/lifecycle.md lists them.</param>
    /// <param name="configure">Changes to the builder before it is built (tests).</param>
    /// <returns>The application, not yet started.</returns>
    /// <exception cref="LifecycleConfigurationException">An option is unusable; the message names it.</exception>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ServiceHost.CreateBuilder(args, MonitorOptions.DefaultUrls, configure);
        var options = MonitorOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<DriftWatcher>();
        builder.Services.AddHostedService(services => services.GetRequiredService<DriftWatcher>());
        var app = builder.Build();
        var watcher = app.Services.GetRequiredService<DriftWatcher>();
        ServiceHost.MapCommon(app, watcher.NotReady);
        app.MapGet("/state", () => Results.Json(watcher.Describe(), ServiceHost.Json));
        ServiceHost.MapFallback(app);
        return app;
    }
}
