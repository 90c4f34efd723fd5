using System.Diagnostics;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Ledger;

/// <summary>
/// The one shape of communication the ledger protocol uses, over the communicator's point-to-point API only: post a
/// receive from each expected sender, start the sends, then wait for the receives until a deadline. A sender that has
/// not delivered by then is missing from the result: it is dropped from this step of the round, and nobody waits for
/// it any longer. The wait may also end early, once what arrived is enough (a valid block, a quorum of verdicts).
/// Every (round, phase) has its own tag, so a late message never matches another step's receive. Sends are
/// non-blocking; those whose receiver is gone stay posted (their buffers are private to them) and the rest are
/// completed before the peer ends (<see cref="Drain"/>).
/// </summary>
internal sealed class PeerExchange
{
    private const int TagBase = 12000, Phases = 8, RoundsInTags = 2048;
    private readonly Communicator _world;
    private readonly List<Request> _sends = [];

    public PeerExchange(Communicator world, TimeSpan timeout)
    {
        _world = world;
        Timeout = timeout;
    }

    /// <summary>The base wait of one step; a step k phases into the round waits k times as long, since a sender may itself have waited for the earlier steps.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Bytes this peer has sent to others.</summary>
    public long BytesSent { get; private set; }

    public static int Tag(long round, LedgerPhase phase) => TagBase + (int)(round % RoundsInTags) * Phases + (int)phase;

    /// <summary>
    /// Sends <paramref name="outgoing"/> (destination to bytes; to itself it is handed over directly) and receives one
    /// message of at most <paramref name="capacity"/> bytes from each of <paramref name="sources"/>.
    /// </summary>
    /// <param name="round">The round (part of the tag).</param>
    /// <param name="phase">The step (part of the tag, and how long to wait).</param>
    /// <param name="outgoing">Destination to message.</param>
    /// <param name="sources">The peers a message is expected from.</param>
    /// <param name="capacity">The longest valid message of this step.</param>
    /// <param name="enough">Stops waiting once it returns true for what has arrived.</param>
    /// <param name="wait">The wait instead of the step's k·<see cref="Timeout"/> (a step outside the round's chain of waits).</param>
    /// <returns>What arrived by the deadline, by sender.</returns>
    public Dictionary<int, byte[]> Exchange(long round, LedgerPhase phase, IReadOnlyDictionary<int, byte[]> outgoing, IReadOnlyList<int> sources,
        int capacity, Func<IReadOnlyDictionary<int, byte[]>, bool>? enough = null, TimeSpan? wait = null)
    {
        int me = _world.Rank, tag = Tag(round, phase);
        var received = new Dictionary<int, byte[]>();
        var posted = new List<(int Source, byte[] Buffer, Request Request)>();
        foreach (int source in sources)
        {
            if (source == me) { if (outgoing.TryGetValue(me, out var own)) received[me] = own; continue; }
            var buffer = new byte[capacity];
            posted.Add((source, buffer, _world.Irecv<byte>(buffer, source, tag)));
        }
        _sends.RemoveAll(s => s.IsCompleted);
        foreach (var (destination, bytes) in outgoing)
        {
            if (destination == me) continue;
            _sends.Add(_world.Isend<byte>(bytes, destination, tag));
            BytesSent += bytes.Length;
        }
        double seconds = wait?.TotalSeconds ?? Timeout.TotalSeconds * ((int)phase + 1);
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        foreach (var (source, buffer, request) in posted)
        {
            if (enough?.Invoke(received) == true)
            {
                // Take what is already there, wait no longer.
                if (request.IsCompleted) Take(source, buffer, request, received);
                continue;
            }
            long left = deadline - Stopwatch.GetTimestamp();
            var remaining = TimeSpan.FromSeconds(Math.Max(left, Stopwatch.Frequency / 1000) / (double)Stopwatch.Frequency);
            try
            {
                request.Wait(remaining);
                Take(source, buffer, request, received);
            }
            catch (CommunicationTimeoutException) { }
        }
        return received;
    }

    private static void Take(int source, byte[] buffer, Request request, Dictionary<int, byte[]> received)
    {
        try
        {
            request.Test();
            received[source] = buffer[..(int)request.Status.ByteCount];
        }
        catch (CollectiveException) { } // longer than any valid message of this step: not a message of the protocol
    }

    /// <summary>Sends <paramref name="bytes"/> to <paramref name="destination"/> on a fixed tag (catch-up traffic).</summary>
    public void Send(byte[] bytes, int destination, int tag)
    {
        _sends.Add(_world.Isend<byte>(bytes, destination, tag));
        BytesSent += bytes.Length;
    }

    /// <summary>Waits (at most <see cref="Timeout"/> in all) for the sends still in flight whose receivers are there.</summary>
    public void Drain()
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
        foreach (var send in _sends)
        {
            long left = deadline - Stopwatch.GetTimestamp();
            try { send.Wait(TimeSpan.FromSeconds(Math.Max(left, Stopwatch.Frequency / 1000) / (double)Stopwatch.Frequency)); }
            catch (CommunicationTimeoutException) { }
        }
        _sends.RemoveAll(s => s.IsCompleted);
    }
}
