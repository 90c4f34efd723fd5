using System.Text.Json;
using Microsoft.Extensions.Configuration.Memory;

namespace AllReduceNet.Serving;

/// <summary>
/// The server's log output: one JSON object a line on standard output (<c>--log-format json</c>, the default), which
/// log shippers read without a parser of their own, or ASP.NET Core's plain console text (<c>--log-format text</c>)
/// for a person at a terminal. Scopes are included, so every line written during a request carries its RequestId.
/// </summary>
internal static class ServingLogs
{
    public static void Configure(WebApplicationBuilder builder)
    {
        // Below everything else in precedence, so --Logging:LogLevel:... on the command line still wins. ASP.NET Core's
        // hosting lines would repeat ours (RequestLogging) at twice the cost, and its scope would add a second
        // RequestId (its connection-based one) beside ours; turned off, it logs neither.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Information", ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None" },
        });
        // --log-requests: a line for every answered request too, not only for refusals and errors.
        if (builder.Configuration["log-requests"] is { } logRequests)
        {
            if (!bool.TryParse(logRequests, out bool on))
                throw new ServingConfigurationException($"--log-requests is '{logRequests}', but must be true or false.");
            builder.Logging.AddFilter(RequestLogging.Category, on ? LogLevel.Debug : LogLevel.Information);
        }
        string format = builder.Configuration["log-format"] ?? "json";
        builder.Logging.ClearProviders();
        switch (format)
        {
            case "json":
                builder.Logging.AddJsonConsole(json =>
                {
                    json.IncludeScopes = true;
                    json.UseUtcTimestamp = true;
                    json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                    json.JsonWriterOptions = new JsonWriterOptions { Indented = false };
                });
                break;
            case "text":
                builder.Logging.AddSimpleConsole(text => { text.IncludeScopes = true; text.SingleLine = true; });
                break;
            default:
                throw new ServingConfigurationException($"--log-format is '{format}', but must be json or text.");
        }
    }
}
