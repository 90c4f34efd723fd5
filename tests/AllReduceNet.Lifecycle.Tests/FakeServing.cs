using AllReduceNet.Training.Data;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>A stand-in for Serve.dll's management API, so the trainer's refusals and failures can be provoked: the
/// experiment status, a feedback export that waits until <see cref="ReleaseExport"/>, and counted load and experiment calls.</summary>
internal sealed class FakeServing
{
    private readonly TaskCompletionSource _export = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _loads, _experiments;

    public bool ExperimentRunning { get; set; }
    public int Loads => Volatile.Read(ref _loads);
    public int ExperimentsStarted => Volatile.Read(ref _experiments);

    public void ReleaseExport() => _export.TrySetResult();

    public async Task<LoopbackHost> StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/v2/repository/models/{name}/experiment", (string name) => ExperimentRunning
            ? Results.Json(new { model = name, state = "running" })
            : Results.Json(new { error = $"model '{name}' has no experiment" }, statusCode: 404));
        app.MapGet("/v2/models/{name}/feedback/export", async (HttpContext context) =>
        {
            await _export.Task.WaitAsync(TimeSpan.FromSeconds(60));
            context.Response.Headers["X-Rows"] = "0";
            return Results.Bytes(LabeledDataFile.Encode([], [], 12, 3), "application/octet-stream");
        });
        app.MapPost("/v2/repository/models/{name}/load", (string name) => { Interlocked.Increment(ref _loads); return Results.Json(new { name }); });
        app.MapPost("/v2/repository/models/{name}/experiment", (string name) => { Interlocked.Increment(ref _experiments); return Results.Json(new { model = name }, statusCode: 201); });
        return await LoopbackHost.StartAsync(app);
    }
}
