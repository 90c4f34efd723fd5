using System.Diagnostics;

namespace AllReduceNet.Kernels.Cpu;

/// <summary>
/// Persistent helper threads for the CPU kernels' fork/join: a kernel call hands out chunk indices that the caller
/// and the helpers take in turn. A helper spins for a short while after each call before it blocks, so the kernels
/// of one training step (a few matrix products of 0.1 to 1 ms each, a few microseconds apart) find it awake: waking
/// a Parallel.For costs several microseconds per call and more when the cores are contended. One call at a time:
/// a second caller (another thread sharing the backend) gets false from <see cref="TryFor"/> and uses the thread pool.
/// Which thread runs which chunk never changes a result: every chunk writes its own part of the output.
/// </summary>
internal sealed class KernelWorkers : IDisposable
{
    // How long an idle helper spins before it blocks: longer than the gaps between the matrix products of one
    // layer pass (a few µs), shorter than the step's data loading. Spinning longer took CPU from the caller's own
    // thread on a loaded machine (the process's threads share one scheduler group): its data loading ran 6x slower.
    private static readonly long SpinTicks = Stopwatch.Frequency / 30000;   // 33 µs

    private readonly Thread[] _helpers;
    private readonly SemaphoreSlim _wake = new(0);
    private Job? _job;
    private long _generation;
    private int _sleepers, _busy;
    private volatile bool _disposed;

    /// <summary>Starts <paramref name="helpers"/> background threads (at least 1).</summary>
    public KernelWorkers(int helpers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(helpers, 1);
        _helpers = new Thread[helpers];
        for (int i = 0; i < helpers; i++)
        {
            _helpers[i] = new Thread(Loop) { IsBackground = true, Name = $"AllReduceNet kernel worker {i + 1}" };
            _helpers[i].Start();
        }
    }

    /// <summary>Runs <paramref name="body"/>(0 .. count-1) on the caller and the helpers and returns when all are done,
    /// rethrowing the first exception; false, without running anything, when another call is in progress.</summary>
    public bool TryFor(int count, Action<int> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        try
        {
            // A fresh job per call: a helper still leaving the previous one cannot take an index of this one.
            var job = new Job(body, count);
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            int sleepers = Volatile.Read(ref _sleepers);
            if (sleepers > 0) _wake.Release(Math.Min(sleepers, _helpers.Length));
            job.Work();
            // Never Sleep(1) here (SpinWait's default after a few rounds): a helper's chunk is 0.1 ms or less, and a
            // 1 ms sleep per kernel call cost the one-rank step more than the second core gave it.
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Remaining) > 0) spin.SpinOnce(sleep1Threshold: -1);
            if (job.Error is not null) throw new AggregateException(job.Error);
            return true;
        }
        finally
        {
            Volatile.Write(ref _job, null);
            Volatile.Write(ref _busy, 0);
        }
    }

    private void Loop()
    {
        long seen = Volatile.Read(ref _generation);
        while (!_disposed)
        {
            long now = Volatile.Read(ref _generation);
            if (now == seen)
            {
                long until = Stopwatch.GetTimestamp() + SpinTicks;
                while ((now = Volatile.Read(ref _generation)) == seen && !_disposed && Stopwatch.GetTimestamp() < until)
                    Thread.SpinWait(20);
            }
            if (now == seen)
            {
                // Dekker-style hand-off with TryFor: announce the sleep, then look again, so a call that started in
                // between either sees the sleeper and releases it or is seen here (a stale permit only wakes once).
                Interlocked.Increment(ref _sleepers);
                if (Volatile.Read(ref _generation) == seen && !_disposed) _wake.Wait();
                Interlocked.Decrement(ref _sleepers);
                continue;
            }
            seen = now;
            Volatile.Read(ref _job)?.Work();
        }
    }

    /// <summary>Stops the helpers (they are background threads, so a process never waits on them).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _wake.Release(_helpers.Length);
    }

    private sealed class Job(Action<int> body, int count)
    {
        private readonly int _count = count;
        public int Next;
        public int Remaining = count;
        public Exception? Error;

        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref Next) - 1) < _count)
            {
                try
                {
                    body(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref Error, e, null);
                }
                Interlocked.Decrement(ref Remaining);
            }
        }
    }
}
