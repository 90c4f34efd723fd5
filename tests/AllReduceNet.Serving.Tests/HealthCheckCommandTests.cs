using AllReduceNet.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AllReduceNet.Serving.Tests;

/// <summary><c>Serve --health-check URL</c>, the containers' HEALTHCHECK, against real servers on 127.0.0.1.</summary>
public sealed class HealthCheckCommandTests
{
    [Fact]
    public void Only_a_leading_switch_selects_the_check()
    {
        Assert.True(HealthCheckCommand.IsRequested(["--health-check", "http://127.0.0.1:8000/v2/health/ready"]));
        Assert.False(HealthCheckCommand.IsRequested(["--models", "m", "--health-check", "http://127.0.0.1:8000/"]));
        Assert.False(HealthCheckCommand.IsRequested([]));
    }

    [Fact]
    public async Task A_ready_Serve_on_loopback_is_healthy()
    {
        string directory = Path.Combine(Path.GetTempPath(), "arn-health-" + Guid.NewGuid().ToString("N"));
        try
        {
            // A real Kestrel server (not the test server): the check goes through the network stack as in a container.
            ServerFixture.WriteCheckpoint(directory, "fashion", 1, seed: 1);
            var app = ServingApp.Build(["--models", directory, "--urls", "http://127.0.0.1:0"]);
            await app.StartAsync();
            try
            {
                string url = FirstAddress(app) + "/v2/health/ready";
                Assert.Equal(0, await HealthCheckCommand.RunAsync([HealthCheckCommand.Switch, url]));
                Assert.Equal(1, await HealthCheckCommand.RunAsync([HealthCheckCommand.Switch, FirstAddress(app) + "/v2/models/missing/ready"]));
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_server_that_answers_503_is_unhealthy()
    {
        await using var app = await StartPlainServer(context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        });
        Assert.Equal(1, await HealthCheckCommand.RunAsync([HealthCheckCommand.Switch, FirstAddress(app) + "/v2/health/ready"]));
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_unhealthy_and_the_check_returns()
    {
        using var release = new CancellationTokenSource();
        await using var app = await StartPlainServer(async context =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(30), release.Token); } catch (OperationCanceledException) { }
        });
        var started = System.Diagnostics.Stopwatch.StartNew();
        int code = await HealthCheckCommand.RunAsync([HealthCheckCommand.Switch, FirstAddress(app) + "/v2/health/ready"], TimeSpan.FromMilliseconds(300));
        started.Stop();
        release.Cancel();
        Assert.Equal(1, code);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"the check took {started.Elapsed}");
    }

    [Fact]
    public async Task Nothing_listening_is_unhealthy()
    {
        int port = ServeProcess.FreePort();
        Assert.Equal(1, await HealthCheckCommand.RunAsync([HealthCheckCommand.Switch, $"http://127.0.0.1:{port}/v2/health/ready"]));
    }

    [Theory]
    [InlineData("--health-check")]
    [InlineData("--health-check|not a url")]
    [InlineData("--health-check|ftp://127.0.0.1/x")]
    [InlineData("--health-check|http://127.0.0.1:8000/|extra")]
    public async Task Wrong_arguments_exit_2(string joined) => Assert.Equal(2, await HealthCheckCommand.RunAsync(joined.Split('|')));

    private static async Task<WebApplication> StartPlainServer(RequestDelegate handler)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return app;
    }

    private static string FirstAddress(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
}
