using System.Diagnostics;

namespace AllReduceNet.Collectives.Transports.InProcess;

/// <summary>
/// N ranks as threads in one process: the embedded default, no MPI needed. <see cref="Run(int, Action{Communicator}, InProcessWorldOptions?)"/>
/// starts a thread per rank and hands each its communicator. If one rank throws, the world is aborted: every rank
/// blocked in a wait is released within a fraction of a second with <see cref="CommunicatorAbortedException"/>, all
/// threads are joined, and Run throws <see cref="RankFailedException"/> naming the rank and its error.
/// </summary>
public sealed class InProcessWorld
{
    /// <summary>How often a blocked wait looks for an abort, in milliseconds.</summary>
    internal const int AbortPollMilliseconds = 50;

    private Failure? _failure;

    private InProcessWorld(int size, InProcessWorldOptions options)
    {
        Size = size;
        Timeout = options.Timeout;
        RanksPerNode = options.RanksPerNode;
        SpinIterations = options.SpinIterations ?? (size <= Environment.ProcessorCount ? 100 : 200);
        YieldTicks = size > Environment.ProcessorCount && options.SpinIterations is null ? Stopwatch.Frequency / 500 : 0;
        // Shared copies only when every rank has a core: with more ranks than cores a helper can be preempted halfway
        // through a block, and the rank that runs the transfer would wait a time slice for it.
        if (size > 1 && size <= Environment.ProcessorCount)
        {
            _copies = new SharedCopy[size];
            for (int i = 0; i < size; i++) _copies[i] = new SharedCopy();
        }
    }

    private readonly SharedCopy[]? _copies;

    /// <summary>A free slot for a transfer that waiting ranks may help with; null when there is none (do it alone).</summary>
    internal SharedCopy? TryRentCopy()
    {
        if (_copies is null) return null;
        foreach (var copy in _copies)
            if (copy.TryAcquire()) return copy;
        return null;
    }

    /// <summary>Called by waiting ranks: takes blocks of transfers in progress; true when it did some work.</summary>
    internal bool HelpWithCopies()
    {
        if (_copies is null) return false;
        bool worked = false;
        foreach (var copy in _copies) worked |= copy.Help();
        return worked;
    }

    /// <summary>The number of ranks.</summary>
    public int Size { get; }

    internal TimeSpan? Timeout { get; }

    /// <summary>The simulated node size (<see cref="InProcessWorldOptions.RanksPerNode"/>); null: one node.</summary>
    internal int? RanksPerNode { get; }

    internal int SpinIterations { get; }

    /// <summary>
    /// With more ranks than cores (and no <see cref="InProcessWorldOptions.SpinIterations"/> given), how long a wait only
    /// yields its core before it blocks: 2 ms. 0 otherwise: the wait spins <see cref="SpinIterations"/> rounds.
    /// </summary>
    internal long YieldTicks { get; }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="ranks"/> threads, each with its rank's communicator, and
    /// returns when all have finished.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">ranks is less than 1.</exception>
    /// <exception cref="RankFailedException">A rank threw; the inner exception is its error.</exception>
    public static void Run(int ranks, Action<Communicator> body, InProcessWorldOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        Run<object?>(ranks, comm => { body(comm); return null; }, options);
    }

    /// <summary>Runs <paramref name="body"/> on every rank and returns each rank's result, indexed by rank.</summary>
    /// <exception cref="ArgumentOutOfRangeException">ranks is less than 1.</exception>
    /// <exception cref="RankFailedException">A rank threw; the inner exception is its error.</exception>
    public static TResult[] Run<TResult>(int ranks, Func<Communicator, TResult> body, InProcessWorldOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var communicators = CreateCommunicators(ranks, options);
        var world = ((InProcessTransport)communicators[0].Transport).World;
        var results = new TResult[ranks];
        var threads = new Thread[ranks];
        for (int r = 0; r < ranks; r++)
        {
            int rank = r;
            threads[r] = new Thread(() =>
            {
                var comm = communicators[rank];
                try { results[rank] = body(comm); }
                catch (Exception error) { world.Abort(rank, error); }
                finally { comm.Dispose(); }
            })
            { Name = $"allreducenet rank {rank}", IsBackground = true };
        }
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        if (world._failure is { } failure) throw new RankFailedException(failure.Rank, ranks, failure.Error);
        return results;
    }

    /// <summary>
    /// Creates the communicators of a new world without starting threads, for callers that run the ranks on threads
    /// of their own. Call <see cref="Abort(Communicator, Exception)"/> when a rank fails, so the others are released.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">ranks is less than 1.</exception>
    /// <exception cref="EnvironmentSettingException">An ALLREDUCENET_* variable has a bad value.</exception>
    public static Communicator[] CreateCommunicators(int ranks, InProcessWorldOptions? options = null)
    {
        if (ranks < 1) ThrowHelper.ArgumentOutOfRange(nameof(ranks), ranks, $"An in-process world needs at least 1 rank, but {ranks} were asked for.");
        if (options?.RanksPerNode is < 1 and var perNode)
            ThrowHelper.ArgumentOutOfRange(nameof(options), perNode, $"InProcessWorldOptions.RanksPerNode must be at least 1, but is {perNode}.");
        _ = EnvironmentSettings.Current; // a bad ALLREDUCENET_* value is reported here, before any thread starts
        var world = new InProcessWorld(ranks, options ?? new InProcessWorldOptions());
        var group = new InProcessGroup(world, Enumerable.Range(0, ranks).ToArray());
        var communicators = new Communicator[ranks];
        for (int r = 0; r < ranks; r++) communicators[r] = new Communicator(new InProcessTransport(group, r));
        return communicators;
    }

    /// <summary>Aborts the world of <paramref name="communicator"/> because its rank failed with <paramref name="error"/>.</summary>
    /// <exception cref="ArgumentException">The communicator is not an in-process one.</exception>
    public static void Abort(Communicator communicator, Exception error)
    {
        if (communicator.Transport is not InProcessTransport c)
            throw new ArgumentException($"rank {communicator.Rank}: only an in-process communicator can abort an in-process world.", nameof(communicator));
        c.World.Abort(c.WorldRank, error);
    }

    /// <summary>Records the first failure; every wait in the world sees it within <see cref="AbortPollMilliseconds"/>.</summary>
    internal void Abort(int worldRank, Exception error)
    {
        // A rank released by an earlier abort or by a peer's failure notice is a consequence, not a cause: keep the
        // original failure, and let a cause that arrives later (a rank that first waited for its peers to stop
        // reading its buffer) take the place of a consequence recorded before it.
        var failure = new Failure(worldRank, error);
        while (true)
        {
            var current = Volatile.Read(ref _failure);
            if (current is not null && (current.Error is not CommunicatorAbortedException || error is CommunicatorAbortedException)) return;
            if (Interlocked.CompareExchange(ref _failure, failure, current) == current) return;
        }
    }

    internal void ThrowIfAborted(int worldRank)
    {
        if (Volatile.Read(ref _failure) is { } f)
            throw new CommunicatorAbortedException(f.Rank,
                $"rank {worldRank}: the in-process world was aborted because rank {f.Rank} failed: {f.Error.GetType().Name}: {f.Error.Message}", f.Error);
    }

    private sealed record Failure(int Rank, Exception Error);
}
