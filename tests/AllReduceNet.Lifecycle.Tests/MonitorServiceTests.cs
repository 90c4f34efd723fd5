using System.Net.Http.Json;
using System.Text.Json;
using AllReduceNet.Lifecycle.Monitor;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>The monitor: thresholds refused at start, and the hysteresis and cooldown of its retrain requests,
/// against a stand-in server (GET /drift) and trainer (POST /retrain) on loopback.</summary>
public sealed class MonitorServiceTests
{
    [Theory]
    [InlineData("--consecutive-windows", "-1")]
    [InlineData("--consecutive-windows", "0")]
    [InlineData("--min-accuracy", "-0.1")]
    [InlineData("--min-accuracy", "NaN")]
    [InlineData("--min-accuracy", "1.5")]
    [InlineData("--min-labels", "-5")]
    [InlineData("--interval", "-5s")]
    [InlineData("--interval", "0")]
    [InlineData("--cooldown", "-1m")]
    [InlineData("--trainer", "ftp://x")]
    public void Negative_NaN_or_out_of_range_thresholds_are_refused_at_start_naming_the_option(string option, string value)
    {
        var e = Assert.Throws<LifecycleConfigurationException>(() => MonitorApp.Build([.. LoopbackHost.Loopback, option, value]));
        Assert.Contains(option, e.Message);
        Assert.Contains(value, e.Message);
    }

    [Fact]
    public async Task It_asks_for_a_retrain_only_after_K_drifted_windows_in_a_row_then_cools_down()
    {
        var windows = new List<(long EndRow, bool Drift)>();
        var retrains = new List<JsonElement>();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var stand = builder.Build();
        stand.MapGet("/drift", () =>
        {
            lock (windows)
                return Results.Json(new { models = new[] { new { name = "fashion", version = "1", available = true,
                    history = windows.Select(w => new { end_row = w.EndRow, drift = w.Drift }).ToArray() } } });
        });
        stand.MapPost("/retrain", async (HttpContext context) =>
        {
            var body = await JsonDocument.ParseAsync(context.Request.Body);
            lock (retrains) retrains.Add(body.RootElement.Clone());
            return Results.Json(new { id = "job-1" }, statusCode: 202);
        });
        await using var fake = await LoopbackHost.StartAsync(stand);
        await using var monitor = await LoopbackHost.StartAsync(MonitorApp.Build([.. LoopbackHost.Loopback, "--server", fake.Url.ToString(),
            "--trainer", fake.Url.ToString(), "--interval", "1h", "--consecutive-windows", "3", "--cooldown", "1h"]));
        var watcher = monitor.Services.GetRequiredService<DriftWatcher>();

        void Add(params bool[] drifts) { lock (windows) foreach (bool d in drifts) windows.Add((windows.Count * 100 + 100, d)); }
        Add(true, true, false, true, true); // never three in a row
        await watcher.PollOnceAsync(CancellationToken.None);
        Assert.Empty(retrains);
        Add(true); // the third in a row
        await watcher.PollOnceAsync(CancellationToken.None);
        var retrain = Assert.Single(retrains);
        Assert.Equal("drift", retrain.GetProperty("reason").GetString());
        Assert.Contains("3 drifted windows in a row", retrain.GetProperty("detail").GetString());
        Add(true, true, true, true); // still drifting, but cooling down
        await watcher.PollOnceAsync(CancellationToken.None);
        Assert.Single(retrains);

        using var state = await monitor.Client.GetFromJsonAsync<JsonDocument>("state");
        Assert.Equal("cooldown", state!.RootElement.GetProperty("state").GetString());
        Assert.Equal(1, state.RootElement.GetProperty("triggers").GetInt64());
        Assert.Equal("job-1", state.RootElement.GetProperty("last_trigger").GetProperty("job_id").GetString());
        using var ready = await monitor.Client.GetAsync("health/ready");
        Assert.True(ready.IsSuccessStatusCode);
    }
}
