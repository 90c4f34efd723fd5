using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>Issue 14's whole loop in one run (<see cref="LifecycleLoop"/>): drift seen, retrained, A/B tested, promoted, recovered.</summary>
public sealed class LifecycleEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("lifecycle-e2e-").FullName;

    [Fact]
    public async Task Drift_on_a_shifted_stream_retrains_ab_tests_and_promotes_a_version_that_recovers_the_accuracy()
    {
        var scale = LifecycleScale.FromEnvironment();
        var result = await new LifecycleLoop(scale, _work, output.WriteLine).RunAsync();
        if (Environment.GetEnvironmentVariable("LIFECYCLE_RESULTS") is { Length: > 0 } path)
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));

        using var job = JsonDocument.Parse(result.JobJson);
        Assert.Equal("drift", job.RootElement.GetProperty("reason").GetString());
        Assert.Equal("2", job.RootElement.GetProperty("version").GetString());
        Assert.Equal("1", job.RootElement.GetProperty("control_version").GetString());
        Assert.True(job.RootElement.GetProperty("feedback_rows").GetInt32() >= scale.CleanRows, "the job trained on the labeled feedback");
        Assert.True(job.RootElement.GetProperty("experiment_started").GetBoolean());
        Assert.True(File.Exists(Path.Combine(_work, "models", "fashion", "2", "reference.json")), "v2 is in the repository with its reference statistics");
        Assert.True(AllReduceNet.Training.Checkpoints.Preprocessing.Read(Path.Combine(_work, "models", "fashion", "2", "preprocess.json")).PerSample,
            "the trainer's default retrains with --normalize per-sample");

        using var experiment = JsonDocument.Parse(result.ExperimentJson);
        Assert.Equal("promoted", experiment.RootElement.GetProperty("state").GetString());
        Assert.Equal("2", experiment.RootElement.GetProperty("decision").GetProperty("served_version").GetString());
        Assert.True(experiment.RootElement.GetProperty("decision").GetProperty("automatic").GetBoolean(), "the sequential test decided, not a person");

        using var monitor = JsonDocument.Parse(result.MonitorJson);
        Assert.Equal(1, monitor.RootElement.GetProperty("triggers").GetInt64());
        Assert.True(monitor.RootElement.GetProperty("last_trigger").GetProperty("accepted").GetBoolean());

        // The shift hurts v1 badly; v2 recovers most of it (the full-scale figure, within 1 point, is benchmarks/run-lifecycle.sh's).
        string figures = result.Describe();
        Assert.True(result.V1Shifted < result.V1Clean - 0.15, $"the shift was meant to hurt v1: {figures}");
        Assert.True(result.V2Shifted > result.V1Shifted + 0.15, $"v2 did not recover on the shifted stream: {figures}");
        double allowed = scale == LifecycleScale.Full ? 0.01 : 0.08;
        Assert.True(result.V2Shifted >= result.V1Clean - allowed,
            string.Create(CultureInfo.InvariantCulture, $"v2 on the shifted stream is more than {allowed:P0} below v1 before the shift: {figures}"));
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); }
        catch (IOException) { }
    }
}
