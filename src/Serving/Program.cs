namespace AllReduceNet.Serving;

/// <summary>Entry point of Serve.dll: <c>dotnet Serve.dll --models DIR [--urls URL] [--max-body-bytes N] [--max-batch 64] [--max-queue-delay-us 500] [--max-queue 1024] [--version-policy latest:1] [--api-key KEY]</c>,
/// or <c>dotnet Serve.dll --health-check URL</c> (a container's HEALTHCHECK: exit 0 when the URL answers 2xx).</summary>
public static class Program
{
    /// <summary>Starts the server and blocks until it stops.</summary>
    /// <param name="args">Command-line arguments (ASP.NET Core configuration syntax).</param>
    /// <returns>0 after a clean stop, 2 when the settings or the model repository are unusable; with
    /// <c>--health-check</c>, 0 healthy, 1 not.</returns>
    public static int Main(string[] args)
    {
        if (HealthCheckCommand.IsRequested(args)) return HealthCheckCommand.RunAsync(args).GetAwaiter().GetResult();
        WebApplication app;
        try
        {
            app = ServingApp.Build(args);
        }
        catch (ServingConfigurationException e)
        {
            Console.Error.WriteLine($"Serve: {e.Message}");
            return 2;
        }
        app.Run();
        return 0;
    }
}
