namespace AllReduceNet.Serving;

/// <summary>
/// Owns one <see cref="InferenceQueue"/> per served model version. When the application begins to stop, the queues
/// take no new requests (503) and drain; stopping waits for their workers, so queued requests still get answers
/// before the models are disposed.
/// </summary>
internal sealed class BatchScheduler : IHostedService
{
    private readonly Dictionary<ServedModel, InferenceQueue> _queues;

    public BatchScheduler(ModelRepository models, ServingOptions options, ServingMetrics metrics, IHostApplicationLifetime lifetime)
    {
        _queues = models.All.ToDictionary(model => model, model => new InferenceQueue(model, options, metrics));
        lifetime.ApplicationStopping.Register(Close);
    }

    /// <summary>The queue of a model version.</summary>
    public InferenceQueue For(ServedModel model) => _queues[model];

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Close();
        await Task.WhenAll(_queues.Values.Select(q => q.Worker)).WaitAsync(cancellationToken);
    }

    private void Close()
    {
        foreach (var queue in _queues.Values) queue.Close();
    }
}
