using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AllReduceNet.Lifecycle.Trainer;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>The trainer service's refusals and failures: the key, one job at a time, a running experiment, a failing Train.dll, bad options.</summary>
public sealed class TrainerServiceTests : IDisposable
{
    private const string Key = "trainer-test-key";
    private readonly string _work = Directory.CreateTempSubdirectory("lifecycle-trainer-").FullName;
    private string Models => Path.Combine(_work, "models");

    public TrainerServiceTests() => Directory.CreateDirectory(Path.Combine(Models, "fashion", "1"));

    private Task<LoopbackHost> StartTrainerAsync(LoopbackHost server, string trainArgs = "--synthetic 400 --layers 12,8,3 --ranks 1 --epochs 1 --batch-size 40 --device cpu --quiet", params string[] more) =>
        LoopbackHost.StartAsync(TrainerApp.Build([.. LoopbackHost.Loopback, "--server", server.Url.ToString(), "--models", Models, "--api-key", Key,
            "--train-args", trainArgs, "--work", Path.Combine(_work, "work"), "--request-timeout", "30s", "--job-timeout", "2m", .. more]));

    private static Task<HttpResponseMessage> RetrainAsync(LoopbackHost trainer, string? key = Key, string reason = "manual")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "retrain") { Content = JsonContent.Create(new { reason }) };
        if (key is not null) request.Headers.Add("X-Api-Key", key);
        return trainer.Client.SendAsync(request);
    }

    [Fact]
    public async Task Retrain_needs_the_key_401_without_or_wrong_and_403_when_none_is_configured()
    {
        var fake = new FakeServing();
        fake.ReleaseExport();
        await using var server = await fake.StartAsync();
        await using var trainer = await StartTrainerAsync(server, "--epochs 0");
        using (var missing = await RetrainAsync(trainer, key: null)) Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        using (var wrong = await RetrainAsync(trainer, key: "not-the-key")) Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var jobs = await trainer.Client.GetFromJsonAsync<JsonDocument>("jobs");
        Assert.Equal(0, jobs!.RootElement.GetProperty("jobs").GetArrayLength());

        await using var closed = await LoopbackHost.StartAsync(TrainerApp.Build([.. LoopbackHost.Loopback, "--server", server.Url.ToString(), "--models", Models,
            "--work", Path.Combine(_work, "closed")]));
        using var forbidden = await RetrainAsync(closed);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("--api-key", await forbidden.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_second_retrain_while_one_runs_is_409_and_an_unknown_reason_400()
    {
        var fake = new FakeServing();
        await using var server = await fake.StartAsync();
        await using var trainer = await StartTrainerAsync(server, "--epochs 0");
        using (var bad = await RetrainAsync(trainer, reason: "boredom"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("'reason'", await bad.Content.ReadAsStringAsync());
        }
        using (var first = await RetrainAsync(trainer)) Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        using (var second = await RetrainAsync(trainer, reason: "drift"))
        {
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
            Assert.Contains("still running", await second.Content.ReadAsStringAsync());
        }
        fake.ReleaseExport();
        await trainer.Services.GetRequiredService<RetrainService>().Idle.WaitAsync(TimeSpan.FromMinutes(2));
        var jobs = trainer.Services.GetRequiredService<RetrainService>().Jobs();
        Assert.Single(jobs);
    }

    [Fact]
    public async Task Retrain_while_an_experiment_is_deciding_is_409()
    {
        var fake = new FakeServing { ExperimentRunning = true };
        fake.ReleaseExport();
        await using var server = await fake.StartAsync();
        await using var trainer = await StartTrainerAsync(server);
        using var refused = await RetrainAsync(trainer, reason: "drift");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("experiment", await refused.Content.ReadAsStringAsync());
        Assert.Empty(trainer.Services.GetRequiredService<RetrainService>().Jobs());
    }

    [Fact]
    public async Task A_failing_TrainDll_fails_the_job_with_its_error_and_nothing_is_registered()
    {
        var fake = new FakeServing();
        fake.ReleaseExport();
        await using var server = await fake.StartAsync();
        await using var trainer = await StartTrainerAsync(server, "--synthetic 400 --layers 12,8,3 --ranks 1 --epochs 0 --device cpu");
        using (var started = await RetrainAsync(trainer)) Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        await trainer.Services.GetRequiredService<RetrainService>().Idle.WaitAsync(TimeSpan.FromMinutes(2));

        using var jobs = await trainer.Client.GetFromJsonAsync<JsonDocument>("jobs");
        var job = jobs!.RootElement.GetProperty("jobs")[0];
        Assert.Equal("failed", job.GetProperty("status").GetString());
        string error = job.GetProperty("error").GetString()!;
        Assert.Contains("exited with code 2", error);
        Assert.Contains("--epochs must be at least 1", error);
        Assert.Contains("--epochs must be at least 1", job.GetProperty("log_tail").GetString());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("version").ValueKind);
        Assert.Equal(["1"], Directory.GetDirectories(Path.Combine(Models, "fashion")).Select(Path.GetFileName));
        Assert.Equal(0, fake.Loads);
        Assert.Equal(0, fake.ExperimentsStarted);
        Assert.Contains("\"failed\"", await File.ReadAllTextAsync(Path.Combine(_work, "work", "jobs.jsonl")));
    }

    [Fact]
    public async Task A_successful_job_registers_the_next_version_and_starts_the_experiment()
    {
        var fake = new FakeServing();
        fake.ReleaseExport();
        await using var server = await fake.StartAsync();
        await using var trainer = await StartTrainerAsync(server, "--synthetic 400 --layers 12,8,3 --ranks 1 --epochs 1 --batch-size 40 --device cpu --quiet", "--warm-start", "false");
        using (var started = await RetrainAsync(trainer, reason: "schedule")) Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        await trainer.Services.GetRequiredService<RetrainService>().Idle.WaitAsync(TimeSpan.FromMinutes(2));
        var job = trainer.Services.GetRequiredService<RetrainService>().Jobs()[0].Describe();
        Assert.True((string)job["status"]! == "succeeded", JsonSerializer.Serialize(job));
        Assert.Equal("2", job["version"]);
        Assert.Equal("1", job["control_version"]);
        Assert.True(File.Exists(Path.Combine(Models, "fashion", "2", "model.ckpt")));
        Assert.Equal(1, fake.Loads);
        Assert.Equal(1, fake.ExperimentsStarted);
    }

    [Theory]
    [InlineData("--extra-weight", "0")]
    [InlineData("--candidate-weight", "101")]
    [InlineData("--retrain-every", "-1h")]
    [InlineData("--retrain-every", "NaN")]
    [InlineData("--job-timeout", "0s")]
    [InlineData("--normalize", "zscore")]
    [InlineData("--server", "not a url")]
    public void Unusable_trainer_options_are_refused_at_start_naming_the_option(string option, string value)
    {
        var e = Assert.Throws<LifecycleConfigurationException>(() => TrainerApp.Build([.. LoopbackHost.Loopback, "--models", Models, option, value]));
        Assert.Contains(option, e.Message);
    }

    [Fact]
    public void The_trainer_needs_an_existing_model_repository()
    {
        var e = Assert.Throws<LifecycleConfigurationException>(() => TrainerApp.Build([.. LoopbackHost.Loopback]));
        Assert.Contains("--models", e.Message);
        e = Assert.Throws<LifecycleConfigurationException>(() => TrainerApp.Build([.. LoopbackHost.Loopback, "--models", Path.Combine(_work, "nowhere")]));
        Assert.Contains("is not a directory", e.Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); }
        catch (IOException) { }
    }
}
