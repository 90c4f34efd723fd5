using System.Diagnostics;
using System.Numerics.Tensors;
using AllReduceNet.Collectives;

namespace AllReduceNet.Training.Strategies.Gossip;

/// <summary>
/// Asynchronous gossip with bounded staleness (--gossip-async, --gossip-staleness S). Each rank keeps one receive
/// posted per neighbour and remembers the newest replica each neighbour sent (a message is the replica, then its
/// round, then an end flag). In round r a rank sends its replica to every neighbour whose previous message has been
/// taken (otherwise it skips that neighbour: the neighbour has not caught up yet and gets a newer one later), then
/// mixes with the newest replica of each neighbour, weighted by W as in the synchronous case. It waits only when a
/// neighbour's newest replica is older than round r - S (or none arrived yet): so a slow peer holds up its
/// neighbours only once they are S rounds ahead of it, and holds up nobody else directly. While it waits it keeps
/// taking messages and sending its own, so two waiting ranks always make progress.
/// <para>
/// With stale replicas the mixing is row-stochastic but no longer preserves the mean exactly; the synchronous epoch
/// boundary (all ranks settle, then the consensus distance is measured) bounds the drift.
/// At the end of an epoch every rank sends a final message flagged as the end and takes messages until it has every
/// neighbour's end, so no request is left in flight across the trainer's collectives.
/// </para>
/// </summary>
internal sealed class AsyncGossipMixer : IGossipMixer
{
    private const int Tag = 4200;
    private const float EndFlag = 1f;
    private const long MaxExactRound = 1L << 24;
    private readonly Communicator _world;
    private readonly int[] _neighbours;
    private readonly float _selfWeight;
    private readonly float[] _neighbourWeights;
    private readonly int _count, _staleness;
    private readonly float[][] _outbox, _inbox, _latest;
    private readonly Request?[] _sends, _receives;
    private readonly long[] _latestRound;
    private readonly bool[] _ended;
    private long _waits, _skippedSends, _mixes;
    private double _stalenessSum;

    public AsyncGossipMixer(Communicator world, GossipTopology topology, int count, int staleness)
    {
        _world = world;
        int rank = world.Rank;
        _neighbours = topology.Neighbours[rank];
        _selfWeight = (float)topology.Weight(rank, rank);
        _neighbourWeights = _neighbours.Select(j => (float)topology.Weight(rank, j)).ToArray();
        _count = count;
        _staleness = staleness;
        _outbox = _neighbours.Select(_ => new float[count + 2]).ToArray();
        _inbox = _neighbours.Select(_ => new float[count + 2]).ToArray();
        _latest = _neighbours.Select(_ => new float[count]).ToArray();
        _sends = new Request?[_neighbours.Length];
        _receives = new Request?[_neighbours.Length];
        _latestRound = new long[_neighbours.Length];
        _ended = new bool[_neighbours.Length];
        Array.Fill(_latestRound, -1);
        Array.Fill(_ended, true);
    }

    public void Mix(Span<float> parameters, long round)
    {
        BeginEpochIfNeeded();
        Poll();
        Offer(parameters, round, end: false);
        long oldest = round - _staleness;
        var deadline = Stopwatch.GetTimestamp() + (long)(_world.DefaultTimeout.TotalSeconds * Stopwatch.Frequency);
        bool waited = false;
        while (!AllFresh(oldest))
        {
            waited = true;
            Idle(deadline, parameters, round, end: false, $"a replica of round {oldest} or later from neighbours {string.Join(",", StaleNeighbours(oldest))} in round {round}");
        }
        if (waited) _waits++;
        TensorPrimitives.Multiply(parameters, _selfWeight, parameters);
        for (int k = 0; k < _neighbours.Length; k++)
        {
            TensorPrimitives.MultiplyAdd(_latest[k], _neighbourWeights[k], parameters, parameters);
            _stalenessSum += round - _latestRound[k];
        }
        _mixes++;
    }

    public void EndEpoch(ReadOnlySpan<float> parameters, long round)
    {
        if (_ended.All(e => e) && _sends.All(s => s is null)) return; // no round this epoch
        var deadline = Stopwatch.GetTimestamp() + (long)(_world.DefaultTimeout.TotalSeconds * Stopwatch.Frequency);
        var pending = Enumerable.Range(0, _neighbours.Length).ToList();
        // The end message goes after any message still in flight to that neighbour (it keeps taking ours until our end).
        while (pending.Count > 0)
        {
            Poll();
            for (int i = pending.Count - 1; i >= 0; i--)
            {
                int k = pending[i];
                if (_sends[k] is { } previous && !previous.Test()) continue;
                Post(k, parameters, round, end: true);
                pending.RemoveAt(i);
            }
            if (pending.Count > 0) Idle(deadline, default, round, end: true, $"its previous messages to neighbours {string.Join(",", pending.Select(k => _neighbours[k]))} to be taken at the end of the epoch");
        }
        while (!_ended.All(e => e) || _sends.Any(s => s is not null && !s.Test()))
            Idle(deadline, default, round, end: true, $"the end-of-epoch messages of neighbours {string.Join(",", Enumerable.Range(0, _neighbours.Length).Where(k => !_ended[k]).Select(k => _neighbours[k]))}");
        Array.Clear(_sends);
    }

    public IReadOnlyList<string> Describe()
    {
        Span<double> totals = [_waits, _skippedSends, _mixes, _stalenessSum, _mixes * _neighbours.Length];
        _world.AllReduce(totals, ReduceOp.Sum);
        return [$"gossip --gossip-async: staleness bound {_staleness} rounds; mean staleness of the neighbour replicas mixed {totals[3] / Math.Max(totals[4], 1):F2} rounds; {totals[0]:F0} of {totals[2]:F0} mixes waited for a stale neighbour; {totals[1]:F0} sends skipped (neighbour had not taken the previous one)"];
    }

    private void BeginEpochIfNeeded()
    {
        if (!_ended.All(e => e) || _receives.Any(r => r is not null)) return;
        Array.Fill(_ended, false);
        for (int k = 0; k < _neighbours.Length; k++) _receives[k] = _world.Irecv<float>(_inbox[k], _neighbours[k], Tag);
    }

    /// <summary>Takes every message that arrived, keeps the newest replica per neighbour and reposts the receive.</summary>
    private bool Poll()
    {
        bool progress = false;
        for (int k = 0; k < _neighbours.Length; k++)
        {
            if (_receives[k] is not { } receive || !receive.Test()) continue;
            progress = true;
            var message = _inbox[k];
            long round = (long)message[_count];
            if (round >= _latestRound[k])
            {
                message.AsSpan(0, _count).CopyTo(_latest[k]);
                _latestRound[k] = round;
            }
            if (message[_count + 1] == EndFlag) { _ended[k] = true; _receives[k] = null; }
            else _receives[k] = _world.Irecv<float>(_inbox[k], _neighbours[k], Tag);
        }
        return progress;
    }

    /// <summary>Sends this round's replica to each neighbour that took the previous message.</summary>
    private void Offer(ReadOnlySpan<float> parameters, long round, bool end)
    {
        for (int k = 0; k < _neighbours.Length; k++)
        {
            if (_sends[k] is { } previous && !previous.Test())
            {
                _skippedSends++;
                continue;
            }
            if (_sends[k] is not null && _outbox[k][_count] == round) continue; // already sent this round
            Post(k, parameters, round, end);
        }
    }

    private void Post(int k, ReadOnlySpan<float> parameters, long round, bool end)
    {
        // The round travels as a float in the message: exact only below 2^24.
        if (round >= MaxExactRound)
            throw new TrainingException($"gossip --gossip-async: rank {_world.Rank} reached round {round}; rounds are numbered exactly only below {MaxExactRound} (raise --gossip-every or train fewer steps).");
        var message = _outbox[k];
        parameters.CopyTo(message);
        message[_count] = round;
        message[_count + 1] = end ? EndFlag : 0f;
        _sends[k] = _world.Isend<float>(message, _neighbours[k], Tag);
    }

    private void Idle(long deadline, ReadOnlySpan<float> parameters, long round, bool end, string waitingFor)
    {
        if (Poll()) return;
        if (!end) OfferQuietly(parameters, round);
        if (Stopwatch.GetTimestamp() > deadline)
            throw new TrainingException($"gossip --gossip-async: rank {_world.Rank} waited more than {_world.DefaultTimeout} for {waitingFor}.");
        // Ranks may outnumber cores (in-process): sleeping, not spinning, leaves the core to the peer we wait for.
        Thread.Sleep(1);
    }

    /// <summary>While waiting, keep our newest replica flowing so that a neighbour waiting on us progresses too.</summary>
    private void OfferQuietly(ReadOnlySpan<float> parameters, long round)
    {
        for (int k = 0; k < _neighbours.Length; k++)
            if (_sends[k] is { } previous && previous.Test() && _outbox[k][_count] < round) Post(k, parameters, round, end: false);
    }

    private bool AllFresh(long oldest)
    {
        for (int k = 0; k < _neighbours.Length; k++)
            if (_latestRound[k] < 0 || _latestRound[k] < oldest) return false;
        return true;
    }

    private IEnumerable<int> StaleNeighbours(long oldest) =>
        Enumerable.Range(0, _neighbours.Length).Where(k => _latestRound[k] < 0 || _latestRound[k] < oldest).Select(k => _neighbours[k]);

    public void Dispose() { }
}
