using System.Text.Json;

namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>
/// Starts retrain jobs, one at a time, and keeps their history (the latest <see cref="HistoryLength"/> in memory,
/// every finished one appended to WORK/jobs.jsonl). A job is refused (409) while another runs, or while an A/B
/// experiment on the model is still deciding: its outcome decides which version the next one starts from.
/// </summary>
internal sealed class RetrainService(TrainerOptions options, IHostApplicationLifetime lifetime, ILogger<RetrainService> logger)
{
    public const int HistoryLength = 100;
    public static readonly string[] Reasons = ["manual", "schedule", "drift"];

    private readonly object _gate = new();
    private readonly LinkedList<RetrainJob> _history = new();
    private RetrainJob? _current;
    private Task _running = Task.CompletedTask;
    private int _sequence;

    public TrainerOptions Options => options;

    /// <summary>Completes when the running job, if any, has finished (tests wait on it).</summary>
    public Task Idle { get { lock (_gate) return _running; } }

    /// <summary>Starts a job in the background.</summary>
    /// <exception cref="HttpProblem">400: unknown reason; 409: a job is running or an experiment is deciding; 502: the server could not be asked.</exception>
    public async Task<RetrainJob> StartAsync(string reason, string? detail, CancellationToken cancel)
    {
        if (!Reasons.Contains(reason))
            throw new HttpProblem(StatusCodes.Status400BadRequest, $"'reason' must be one of {string.Join(", ", Reasons)}, but was '{reason}'.");
        string id;
        lock (_gate)
        {
            if (_current is { IsRunning: true } busy)
                throw new HttpProblem(StatusCodes.Status409Conflict, $"retrain job {busy.Id} ({busy.Reason}) is still running; one job runs at a time (GET /jobs).");
            id = $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{++_sequence}";
            string directory = Path.Combine(options.WorkDirectory, "jobs", id);
            _current = new RetrainJob(id, reason, detail, Path.Combine(directory, "train.log"));
        }
        var job = _current!;
        try
        {
            using var client = new ServingClient(options);
            if (await client.ExperimentAsync(cancel) is { Running: true })
                throw new HttpProblem(StatusCodes.Status409Conflict, $"an A/B experiment on model '{options.Model}' is still running on the server; retrain after it is promoted, rolled back or stopped.");
        }
        catch (Exception e)
        {
            lock (_gate) if (_current == job) _current = null;
            if (e is RetrainFailure failure) throw new HttpProblem(StatusCodes.Status502BadGateway, failure.Message);
            throw;
        }
        lock (_gate)
        {
            _history.AddFirst(job);
            if (_history.Count > HistoryLength) _history.RemoveLast();
            _running = Task.Run(() => RunAsync(job));
        }
        logger.LogInformation("retrain job {Id} started ({Reason}{Detail})", job.Id, reason, detail is null ? "" : $": {detail}");
        return job;
    }

    public RetrainJob[] Jobs() { lock (_gate) return [.. _history]; }

    public RetrainJob? Find(string id) { lock (_gate) return _history.FirstOrDefault(j => j.Id == id); }

    /// <summary>Why jobs cannot run, or null when they can.</summary>
    public string? NotReady() =>
        !Directory.Exists(options.Models) ? $"the model repository '{options.Models}' is gone"
        : options.Launcher.Kind != TrainLauncher.LauncherKind.Sbatch && !File.Exists(options.TrainDll) ? $"Train.dll '{options.TrainDll}' is gone"
        : null;

    private async Task RunAsync(RetrainJob job)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
        timeout.CancelAfter(options.JobTimeout);
        try
        {
            await new RetrainRun(options, job, logger).RunAsync(timeout.Token);
            job.Succeed();
            logger.LogInformation("retrain job {Id} produced version {Version}", job.Id, job.Version);
        }
        catch (Exception e)
        {
            string error = e switch
            {
                RetrainFailure f => f.Message,
                OperationCanceledException when lifetime.ApplicationStopping.IsCancellationRequested => "the trainer stopped while the job ran",
                OperationCanceledException => $"the job did not finish within --job-timeout {options.JobTimeout}",
                _ => $"{e.GetType().Name}: {e.Message}",
            };
            job.Fail(error, RetrainRun.Tail(job.Log));
            logger.LogError("retrain job {Id} failed: {Error}", job.Id, error);
        }
        try
        {
            Directory.CreateDirectory(options.WorkDirectory);
            await File.AppendAllTextAsync(Path.Combine(options.WorkDirectory, "jobs.jsonl"), JsonSerializer.Serialize(job.Describe(), ServiceHost.Json) + "\n", CancellationToken.None);
        }
        catch (IOException e)
        {
            logger.LogWarning("could not append job {Id} to jobs.jsonl: {Error}", job.Id, e.Message);
        }
    }
}
