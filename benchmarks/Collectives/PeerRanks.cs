using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Collectives.Benchmarks;

/// <summary>
/// An in-process world whose rank 0 is the benchmark's own thread: ranks 1..N-1 run on threads of their own and repeat
/// the same collective for as long as the benchmark runs, so each call of rank 0 is one complete collective.
/// Disposing aborts the world, which releases the peers from their last wait.
/// </summary>
public sealed class PeerRanks : IDisposable
{
    private readonly Communicator[] _communicators;
    private readonly Thread[] _threads;
    private volatile bool _stopping;

    public PeerRanks(int ranks, Action<Communicator> collective)
    {
        _communicators = InProcessWorld.CreateCommunicators(ranks, new InProcessWorldOptions { Timeout = TimeSpan.FromMinutes(10) });
        _threads = new Thread[ranks - 1];
        for (int r = 1; r < ranks; r++)
        {
            var comm = _communicators[r];
            _threads[r - 1] = new Thread(() =>
            {
                try { while (!_stopping) collective(comm); }
                catch (CommunicatorAbortedException) when (_stopping) { }
            })
            { IsBackground = true, Name = $"benchmark peer rank {r}" };
            _threads[r - 1].Start();
        }
    }

    /// <summary>Rank 0's communicator, for the benchmark thread.</summary>
    public Communicator Root => _communicators[0];

    public void Dispose()
    {
        _stopping = true;
        InProcessWorld.Abort(Root, new OperationCanceledException("benchmark finished"));
        foreach (var t in _threads) t.Join();
        foreach (var c in _communicators) c.Dispose();
    }
}
