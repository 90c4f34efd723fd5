namespace AllReduceNet.Collectives;

/// <summary>
/// The queue behind the non-blocking collectives of one communicator: one progress thread drains it in order, so the
/// collectives run in the same order on every rank, as they must. A blocking collective called while work is queued
/// waits for the queue first, for the same reason. After a failure every queued collective fails with the same cause,
/// since the ranks can no longer agree on what was done.
/// </summary>
internal sealed class CollectiveQueue : IDisposable
{
    private readonly Queue<(CollectiveHandle Handle, Action Work)> _pending = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private int _inFlight;      // queued or running
    private bool _stopping;
    private Exception? _failure;

    public CollectiveQueue(string name)
    {
        _thread = new Thread(Drain) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public bool IsProgressThread => Thread.CurrentThread == _thread;

    public void Enqueue(CollectiveHandle handle, Action work)
    {
        lock (_gate)
        {
            if (_stopping) throw new ObjectDisposedException(nameof(CollectiveQueue), $"{handle.Description}: the communicator was disposed.");
            _pending.Enqueue((handle, work));
            _inFlight++;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Blocks until everything queued before now has run; false when the deadline passed first.</summary>
    public bool WaitUntilIdle(Deadline deadline)
    {
        lock (_gate)
        {
            while (_inFlight > 0)
            {
                int ms = deadline.RemainingMilliseconds(1000);
                if (ms == 0) return false;
                Monitor.Wait(_gate, ms);
            }
            return true;
        }
    }

    private void Drain()
    {
        while (true)
        {
            (CollectiveHandle Handle, Action Work) item;
            lock (_gate)
            {
                while (_pending.Count == 0 && !_stopping) Monitor.Wait(_gate);
                if (_pending.Count == 0) return;
                item = _pending.Dequeue();
            }
            Exception? error = _failure;
            if (error is null)
            {
                try { item.Work(); }
                catch (Exception e) { error = e; _failure = e; }
            }
            item.Handle.Complete(error);
            lock (_gate)
            {
                _inFlight--;
                Monitor.PulseAll(_gate);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        if (!IsProgressThread) _thread.Join(TimeSpan.FromSeconds(10));
    }
}
