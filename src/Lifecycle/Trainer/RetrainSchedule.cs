namespace AllReduceNet.Lifecycle.Trainer;

/// <summary>--retrain-every: starts a job with reason "schedule" at that interval; a tick that finds a job running or
/// an experiment deciding is skipped (logged), not queued.</summary>
internal sealed class RetrainSchedule(RetrainService service, ILogger<RetrainSchedule> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (service.Options.RetrainEvery is not { } every) return;
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await service.StartAsync("schedule", $"every {every}", stoppingToken);
                }
                catch (HttpProblem skipped)
                {
                    logger.LogWarning("scheduled retrain skipped: {Reason}", skipped.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
