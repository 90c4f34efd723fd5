namespace AllReduceNet.Serving;

/// <summary>
/// Drains the batchers on shutdown. When the application begins to stop, the <see cref="ModelRepository"/>'s queues
/// take no new requests (503) and drain; stopping waits for their workers, retiring versions' included, so queued
/// requests still get answers before the models are disposed.
/// </summary>
internal sealed class BatchScheduler : IHostedService
{
    private readonly ModelRepository _models;

    public BatchScheduler(ModelRepository models, IHostApplicationLifetime lifetime)
    {
        _models = models;
        lifetime.ApplicationStopping.Register(models.Close);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _models.Close();
        await _models.DrainAsync().WaitAsync(cancellationToken);
    }
}
