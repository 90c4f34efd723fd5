using System.Diagnostics;
using System.Threading.Channels;

namespace AllReduceNet.Serving;

/// <summary>
/// The dynamic batcher of one model version (as Triton's): queued requests are merged into one forward pass of at most
/// <see cref="ServingOptions.MaxBatch"/> rows, run when that many rows are waiting or when
/// <see cref="ServingOptions.MaxQueueDelayMicroseconds"/> have passed since the batch's first request was queued.
/// One background worker runs the batches; the forward pass is row-independent, so each request's rows come out
/// exactly as if it had run alone.
/// </summary>
internal sealed class InferenceQueue
{
    private readonly ServedModel _model;
    private readonly ServingMetrics _metrics;
    private readonly int _maxBatch, _maxQueue;
    private readonly long _delayTicks;
    // Unbounded: the bound is counted in _waiting, which also covers the requests the worker holds while it gathers a batch.
    private readonly Channel<PendingInference> _channel = Channel.CreateUnbounded<PendingInference>(new() { SingleReader = true });
    private int _waiting;

    public InferenceQueue(ServedModel model, ServingOptions options, ServingMetrics metrics)
    {
        _model = model;
        _metrics = metrics;
        _maxBatch = options.MaxBatch;
        _maxQueue = options.MaxQueue;
        _delayTicks = options.MaxQueueDelayMicroseconds * Stopwatch.Frequency / 1_000_000;
        Worker = Task.Run(RunAsync);
    }

    /// <summary>The background worker; it ends once <see cref="Close"/> was called and the queue has drained.</summary>
    public Task Worker { get; }

    /// <summary>Queues a request; its task completes with its rows of the result.</summary>
    /// <param name="input">rows x the model's input size, row-major.</param>
    /// <param name="rows">Number of rows, at least 1.</param>
    /// <returns>The result to wait for, or null when the queue is closed (its version was taken out of service, or the server is stopping).</returns>
    /// <exception cref="ApiException">503 with Retry-After: the queue is full.</exception>
    public Task<(float[] Probabilities, long[] Classes)>? TryInferAsync(float[] input, int rows)
    {
        var pending = new PendingInference(input, rows);
        if (Interlocked.Increment(ref _waiting) > _maxQueue)
        {
            Interlocked.Decrement(ref _waiting);
            throw ApiException.Unavailable(
                $"the queue of model '{_model.Name}' version {_model.Version} is full ({_maxQueue} requests, --max-queue); retry later.");
        }
        if (!_channel.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _waiting);
            return null;
        }
        Depth.Set(Volatile.Read(ref _waiting));
        return pending.Result;
    }

    /// <summary>Takes no more requests; those already queued still run.</summary>
    public void Close() => _channel.Writer.TryComplete();

    private Prometheus.Gauge.Child Depth => _metrics.QueueDepth.WithLabels(_model.Name, _model.Version);

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<PendingInference>();
        PendingInference? held = null;
        while (true)
        {
            PendingInference? first = held;
            held = null;
            if (first is null)
            {
                // False only once the queue is closed and drained: the worker's end.
                if (!await reader.WaitToReadAsync()) return;
                if (!reader.TryRead(out first)) continue;
            }
            batch.Add(first);
            int rows = first.Rows;
            long deadline = first.QueuedAt + _delayTicks;
            while (rows < _maxBatch)
            {
                if (reader.TryRead(out var next))
                {
                    // A request that would overflow the batch starts the next one instead.
                    if (rows + next.Rows > _maxBatch) { held = next; break; }
                    batch.Add(next);
                    rows += next.Rows;
                    continue;
                }
                long remaining = deadline - Stopwatch.GetTimestamp();
                // A closed queue runs what it has at once: shutting down should not wait out the delay.
                if (remaining <= 0 || reader.Completion.IsCompleted || !await WaitForMoreAsync(reader, remaining)) break;
            }
            Run(batch, rows);
            batch.Clear();
        }
    }

    /// <summary>Waits up to <paramref name="ticks"/> for another request; false when none came or the queue closed.</summary>
    private static async Task<bool> WaitForMoreAsync(ChannelReader<PendingInference> reader, long ticks)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromTicks(Math.Max(1, ticks * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
        try { return await reader.WaitToReadAsync(timeout.Token); }
        catch (OperationCanceledException) { return false; }
    }

    private void Run(List<PendingInference> batch, int rows)
    {
        long started = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _waiting, -batch.Count);
        Depth.Set(Volatile.Read(ref _waiting));
        var queueSeconds = _metrics.QueueSeconds.WithLabels(_model.Name, _model.Version);
        foreach (var pending in batch) queueSeconds.Observe(Stopwatch.GetElapsedTime(pending.QueuedAt, started).TotalSeconds);
        _metrics.BatchRows.WithLabels(_model.Name, _model.Version).Observe(rows);
        try
        {
            // One request alone needs no copy; a batch is its requests' rows one after another.
            float[] input = batch.Count == 1 ? batch[0].Input : Concatenate(batch, rows);
            var (probabilities, classes) = _model.Predict(input, rows);
            if (batch.Count == 1) { batch[0].Complete(probabilities, classes); return; }
            int offset = 0;
            foreach (var pending in batch)
            {
                pending.Complete(probabilities.AsSpan(offset * _model.Classes, pending.Rows * _model.Classes).ToArray(),
                    classes.AsSpan(offset, pending.Rows).ToArray());
                offset += pending.Rows;
            }
        }
        catch (Exception e)
        {
            // The worker must outlive a failed batch; each request answers with the failure (a 500).
            foreach (var pending in batch) pending.Fail(e);
        }
    }

    private float[] Concatenate(List<PendingInference> batch, int rows)
    {
        var input = new float[(long)rows * _model.InputSize];
        int offset = 0;
        foreach (var pending in batch)
        {
            pending.Input.CopyTo(input, offset);
            offset += pending.Input.Length;
        }
        return input;
    }
}
