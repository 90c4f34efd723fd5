using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace AllReduceNet.Training.Compression;

/// <summary>
/// Runs a rank's <see cref="IGradientCompressor"/> on a thread of its own, so that compressing and exchanging a
/// layer's bucket overlaps the backward pass of the layers before it, as ddp's plain buckets overlap on the
/// communicator's progress thread. Buckets are summed in the order they were queued, which is the same on every
/// rank (last layer first), so the compressors' collectives match. During a step this thread is the only one that
/// calls collectives on the communicator; <see cref="WaitAll"/> returns only when it is idle again.
/// </summary>
internal sealed class CompressionWorker : IDisposable
{
    private readonly IGradientCompressor _compressor;
    private readonly TimeSpan _timeout;
    private readonly BlockingCollection<(int Layer, Memory<float> Bucket)> _queue = new();
    private readonly SemaphoreSlim _finished = new(0);
    private readonly Thread _thread;
    private int _pending;
    private Exception? _failure;

    /// <param name="compressor">The compressor, used by this worker's thread only from now on.</param>
    /// <param name="rank">For the thread's name.</param>
    /// <param name="timeout">The longest <see cref="WaitAll"/> waits for one bucket.</param>
    public CompressionWorker(IGradientCompressor compressor, int rank, TimeSpan timeout)
    {
        _compressor = compressor;
        _timeout = timeout;
        _thread = new Thread(Run) { IsBackground = true, Name = $"rank {rank} gradient compression" };
        _thread.Start();
    }

    private void Run()
    {
        foreach (var (layer, bucket) in _queue.GetConsumingEnumerable())
        {
            try
            {
                // After a failure the remaining buckets of the step are skipped; WaitAll reports the failure.
                if (_failure is null) _compressor.Sum(layer, bucket.Span);
            }
            catch (Exception error) { _failure = error; }
            finally { _finished.Release(); }
        }
    }

    /// <summary>Queues layer <paramref name="layer"/>'s bucket; it must not be touched until <see cref="WaitAll"/> returns.</summary>
    public void Enqueue(int layer, Memory<float> bucket)
    {
        _pending++;
        _queue.Add((layer, bucket));
    }

    /// <summary>Waits until every queued bucket is summed.</summary>
    /// <exception cref="TrainingException">A bucket took longer than the timeout.</exception>
    /// <remarks>Rethrows what a compressor threw (a peer's failure, a timeout in a collective).</remarks>
    public void WaitAll()
    {
        for (; _pending > 0; _pending--)
            if (!_finished.Wait(_timeout))
                throw new TrainingException($"{_thread.Name}: a compressed bucket was not summed within {_timeout.TotalSeconds:F0} s.");
        if (_failure is { } failure)
        {
            _failure = null;
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        // The thread is a background thread: a compressor stuck in a collective cannot keep the process alive.
        _thread.Join(_timeout);
    }
}
