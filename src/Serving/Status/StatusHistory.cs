namespace AllReduceNet.Serving.Status;

/// <summary>The latest samples of the server, in a ring buffer of fixed capacity: memory stays bounded however long
/// the server runs. Thread-safe.</summary>
internal sealed class StatusHistory(int capacity)
{
    private readonly StatusSample[] _ring = new StatusSample[capacity];
    private readonly object _lock = new();
    private long _added;

    /// <summary>Most samples kept.</summary>
    public int Capacity => _ring.Length;

    /// <summary>Adds a sample, forgetting the oldest when full.</summary>
    public void Add(StatusSample sample)
    {
        lock (_lock) _ring[_added++ % _ring.Length] = sample;
    }

    /// <summary>The samples kept, oldest first.</summary>
    public StatusSample[] Samples()
    {
        lock (_lock)
        {
            int count = (int)Math.Min(_added, _ring.Length);
            var samples = new StatusSample[count];
            for (int i = 0; i < count; i++) samples[i] = _ring[(_added - count + i) % _ring.Length];
            return samples;
        }
    }
}
