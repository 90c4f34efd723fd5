using System.Numerics.Tensors;
using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Downpour SGD (DistBelief, Dean et al. 2012): model-parallel replicas and a sharded asynchronous parameter server.
/// The last K ranks (--servers) are servers; server j owns the contiguous slice j of the flat parameter vector, as
/// under ps. The other W ranks form W / S replicas of S pipeline stages each (rank = replica * S + stage; a replica is
/// one rank with --stages 1): each step a replica runs GPipe (<see cref="GpipeStage"/>) over its share of the global
/// batch and adds the gradient to what it has gathered since its last push. Every n_push steps (--push-every) each
/// stage pushes its gathered gradient to the servers that own its parameters; every n_fetch steps (--fetch-every) it
/// fetches their current values. Between fetches a replica computes with the parameters it has. The last step of an
/// epoch always pushes and fetches, so nothing gathered is lost at a checkpoint.
/// <para>
/// A server applies every push on arrival, with no barrier among the replicas: the only waits are a stage for its
/// pipeline neighbours and for a fetch's reply. A server's slice is cut further at the stage boundaries into pieces,
/// each with its own optimizer, so a push (which covers one stage's parameters) updates exactly the parameters it
/// carries gradients for; with momentum or Adam, a piece's state moves only with its own stage's pushes. Pushes use
/// ps' sparse encoding (<see cref="SparseGradientCodec"/>).
/// </para>
/// </summary>
internal sealed class DownpourStrategy : IStrategy
{
    // A push, a push that also asks for the parameters back, a fetch alone (a one-int message), and the reply.
    private const int PushTag = 11, PushFetchTag = 12, FetchTag = 13, ReplyTag = 14;
    private readonly StrategyContext _context;
    private readonly int _workers, _servers, _stages;
    private readonly bool _isServer;
    private readonly (int Start, int Length)[] _shards;
    private readonly (int Start, int Length)[] _stageRanges;

    // Replica (worker) state.
    private readonly Communicator? _pipeline;
    private readonly GpipeStage? _stage;
    private readonly int _replica, _replicas;
    private readonly float[] _gathered = [], _stepGradient = [], _parameters = [];
    private readonly int[][] _pushMessages = [];
    private readonly int[] _fetchMessage = [0];
    private int _gatheredSteps;
    private long _pushes, _fetches, _bytesSent, _bytesDense;

    // Server state: one piece per stage whose parameters overlap this server's slice.
    private readonly Piece[] _pieces = [];
    private readonly int[] _receive = [];
    private readonly float[][] _replies = [];
    private readonly long[] _fetchedVersion = [];   // the piece's version as of each rank's last fetch
    private long _updates, _maxStaleness, _stalenessSum, _stalenessCount;

    /// <summary>The part of a server's slice that belongs to one stage: its parameters and their optimizer.</summary>
    private sealed record Piece(int Stage, int Start, int Length, ShardOptimizer Optimizer, float[] Values, float[] Gradient)
    {
        /// <summary>Pushes applied to this piece so far.</summary>
        public long Version { get; set; }
    }

    public DownpourStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        var world = context.World;
        _servers = settings.Servers;
        _workers = world.Size - _servers;
        _stages = settings.Stages;
        _replicas = _workers / _stages;
        _isServer = world.Rank >= _workers;
        int count = context.Layout.Count;
        _shards = Enumerable.Range(0, _servers).Select(j => EpochSampler.ShardRange(count, j, _servers)).ToArray();
        _stageRanges = new (int, int)[_stages];
        for (int s = 0, layer = 0; s < _stages; layer += settings.Split[s], s++)
        {
            int start = context.Layout.LayerOffset(layer);
            _stageRanges[s] = (start, context.Layout.LayerOffset(layer + settings.Split[s]) - start);
        }
        // Servers take no part in a pipeline: a negative color leaves them out (MPI_UNDEFINED).
        _replica = _isServer ? -1 : world.Rank / _stages;
        _pipeline = world.Split(_replica, world.Rank % _stages);
        if (_isServer)
        {
            var (start, length) = _shards[world.Rank - _workers];
            _pieces = Enumerable.Range(0, _stages)
                .Select(s => (Stage: s, Range: Overlap((start, length), _stageRanges[s])))
                .Where(p => p.Range.Length > 0)
                .Select(p => new Piece(p.Stage, p.Range.Start, p.Range.Length,
                    new ShardOptimizer(context.Backend, settings.Optimizer, p.Range.Length, context.Schedule), new float[p.Range.Length], new float[p.Range.Length]))
                .ToArray();
            _receive = new int[SparseGradientCodec.Capacity(Math.Max(1, length))];
            _replies = Enumerable.Range(0, _workers).Select(_ => new float[length]).ToArray();
            _fetchedVersion = new long[_workers];
        }
        else
        {
            int maxRows = EpochSampler.ShardRange(settings.BatchSize, 0, _replicas).Length + 1;
            _stage = new GpipeStage(context, _pipeline!, settings.Split, maxRows);
            int stageLength = _stage.Model.Layout.Count;
            _gathered = new float[stageLength];
            _stepGradient = new float[stageLength];
            _parameters = new float[stageLength];
            _pushMessages = _shards.Select(s => new int[SparseGradientCodec.Capacity(Math.Max(1, s.Length))]).ToArray();
        }
    }

    private static (int Start, int Length) Overlap((int Start, int Length) a, (int Start, int Length) b)
    {
        int start = Math.Max(a.Start, b.Start), end = Math.Min(a.Start + a.Length, b.Start + b.Length);
        return (start, Math.Max(0, end - start));
    }

    private int ServerRank(int server) => _workers + server;

    public void Load(Checkpoint state)
    {
        if (_isServer)
        {
            foreach (var piece in _pieces)
            {
                state.Parameters.AsSpan(piece.Start, piece.Length).CopyTo(piece.Values);
                piece.Optimizer.Load(piece.Values);
                piece.Optimizer.Optimizer.Restore(state.OptimizerSlots, piece.Start, state.OptimizerSteps);
            }
        }
        else
        {
            state.Parameters.AsSpan(_stage!.Offset, _parameters.Length).CopyTo(_parameters);
            _stage.Model.WriteParameters(_parameters);
            Array.Clear(_gathered);
            _gatheredSteps = 0;
        }
    }

    /// <summary>Whether step <paramref name="step"/> of <paramref name="steps"/> pushes and whether it fetches.</summary>
    private (bool Push, bool Fetch) Exchanges(int step, int steps)
    {
        bool last = step == steps - 1;
        return ((step + 1) % _context.Settings.PushEvery == 0 || last, (step + 1) % _context.Settings.FetchEvery == 0 || last);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        if (_isServer)
        {
            Serve(sampler.StepCount);
            return default;
        }
        var tally = default(EpochTally);
        var stage = _stage!;
        var sends = new List<Request>(_servers);
        for (int step = 0; step < sampler.StepCount; step++)
        {
            tally = stage.Step(sampler.Shard(step, _replica, _replicas), sampler.GlobalBatch, tally);
            var layout = stage.Model.Layout;
            var target = _gatheredSteps == 0 ? _gathered : _stepGradient;
            for (int l = 0; l < layout.LayerCount; l++) stage.ReadGradientSum(l, target.AsSpan(layout.LayerOffset(l), layout.LayerLength(l)));
            if (_gatheredSteps > 0) TensorPrimitives.Add(_gathered, _stepGradient, _gathered);
            _gatheredSteps++;
            var (push, fetch) = Exchanges(step, sampler.StepCount);
            if (push || fetch) Exchange(push, fetch, sends);
            onStep(step);
        }
        return tally;
    }

    /// <summary>Pushes the gathered gradient and/or fetches the parameters, with every server that owns a part of this stage.</summary>
    private void Exchange(bool push, bool fetch, List<Request> sends)
    {
        var world = _context.World;
        var stage = _stage!;
        var mine = _stageRanges[stage.Stage];
        _context.Clock.Time(() =>
        {
            for (int j = 0; j < _servers; j++)
            {
                var part = Overlap(_shards[j], mine);
                if (part.Length == 0) continue;
                if (push)
                {
                    int ints = SparseGradientCodec.Encode(_gathered.AsSpan(part.Start - mine.Start, part.Length), _pushMessages[j]);
                    _bytesSent += 4L * ints;
                    _bytesDense += 4L * SparseGradientCodec.Capacity(part.Length);
                    sends.Add(world.Isend<int>(_pushMessages[j].AsMemory(0, ints), ServerRank(j), fetch ? PushFetchTag : PushTag));
                }
                else sends.Add(world.Isend<int>(_fetchMessage, ServerRank(j), FetchTag));
            }
            if (fetch)
                for (int j = 0; j < _servers; j++)
                {
                    var part = Overlap(_shards[j], mine);
                    if (part.Length > 0) world.Receive<float>(_parameters.AsSpan(part.Start - mine.Start, part.Length), ServerRank(j), ReplyTag);
                }
            foreach (var send in sends) send.Wait();
            sends.Clear();
        });
        if (push)
        {
            _pushes++;
            Array.Clear(_gathered);
            _gatheredSteps = 0;
        }
        if (fetch)
        {
            _fetches++;
            stage.Model.WriteParameters(_parameters);
        }
    }

    /// <summary>Serves the epoch: every message the replicas' stages will send this server, applied in arrival order.</summary>
    private void Serve(int steps)
    {
        var world = _context.World;
        int perStage = Enumerable.Range(0, steps).Count(t => Exchanges(t, steps) is (true, _) or (_, true));
        var pieceOf = new Piece?[_stages];
        foreach (var piece in _pieces) pieceOf[piece.Stage] = piece;
        // Every replica's stage that overlaps this server sends it one message per exchanging step.
        long expected = (long)perStage * _replicas * _pieces.Length;
        var replies = new Request?[_workers];
        for (long received = 0; received < expected; received++)
        {
            var status = world.Receive<int>(_receive, Communicator.AnySource, Communicator.AnyTag);
            int source = status.Source;
            if (source >= _workers || status.Tag is not (PushTag or PushFetchTag or FetchTag))
                throw new TrainingException($"downpour server rank {world.Rank}: unexpected message with tag {status.Tag} from rank {source}.");
            var piece = pieceOf[source % _stages]
                ?? throw new TrainingException($"downpour server rank {world.Rank}: rank {source} (stage {source % _stages}) sent a message, but owns no parameters on this server.");
            if (status.Tag != FetchTag)
            {
                Array.Clear(piece.Gradient);
                SparseGradientCodec.AddTo(_receive.AsSpan(0, (int)status.Count<int>()), piece.Gradient);
                piece.Optimizer.Step(piece.Gradient, piece.Values);
                long staleness = piece.Version - _fetchedVersion[source];
                _maxStaleness = Math.Max(_maxStaleness, staleness);
                _stalenessSum += staleness;
                _stalenessCount++;
                _updates++;
                piece.Version++;
            }
            if (status.Tag != PushTag)
            {
                replies[source]?.Wait();
                var reply = _replies[source].AsMemory(0, piece.Length);
                piece.Values.CopyTo(reply);
                _fetchedVersion[source] = piece.Version;
                replies[source] = world.Isend<float>(reply, source, ReplyTag);
            }
        }
        foreach (var reply in replies) reply?.Wait();
    }

    public Checkpoint Gather(int completedEpochs)
    {
        // Each parameter lives on exactly one server's piece: the others add zeros, which is exact.
        var settings = _context.Settings;
        int count = _context.Layout.Count;
        var owned = new float[count];
        foreach (var piece in _pieces) piece.Values.CopyTo(owned, piece.Start);
        var parameters = StateGather.Assemble(_context.World, count, 0, owned);
        var slots = new float[settings.Optimizer.SlotCount][];
        for (int s = 0; s < slots.Length; s++)
        {
            Array.Clear(owned);
            foreach (var piece in _pieces) piece.Optimizer.Optimizer.ReadSlot(s, owned.AsSpan(piece.Start, piece.Length));
            slots[s] = StateGather.Assemble(_context.World, count, 0, owned);
        }
        long steps = StateGather.MaxSteps(_context.World, _pieces.Length == 0 ? 0 : _pieces.Max(p => p.Optimizer.Optimizer.StepCount));
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, steps, parameters, slots);
    }

    public IReadOnlyList<string> Describe()
    {
        Span<long> sums = [_pushes, _fetches, _bytesSent, _bytesDense, _updates, _stalenessSum, _stalenessCount];
        _context.World.AllReduce(sums, ReduceOp.Sum);
        Span<long> max = [_maxStaleness];
        _context.World.AllReduce(max, ReduceOp.Max);
        var settings = _context.Settings;
        double saved = sums[3] == 0 ? 0 : 1 - (double)sums[2] / sums[3];
        return
        [
            $"downpour: {_replicas} model replica{(_replicas == 1 ? "" : "s")} of {_stages} stage{(_stages == 1 ? "" : "s")} (layers per stage {string.Join(",", settings.Split)}, {_stage?.MicroBatches ?? settings.MicroBatches} micro-batches), " +
            $"{_servers} server{(_servers == 1 ? "" : "s")} (slices of {string.Join(",", _shards.Select(s => s.Length))} parameters), push every {settings.PushEvery} step{(settings.PushEvery == 1 ? "" : "s")}, fetch every {settings.FetchEvery}",
            $"pushes: {sums[0]} stage pushes and {sums[1]} fetches; {sums[2] / 1e6:F1} MB pushed instead of {sums[3] / 1e6:F1} MB dense (sparse encoding saved {100 * saved:F1}%)",
            $"async: {sums[4]} server updates; staleness (updates to a pushed piece between the pusher's fetch and its push) mean {(double)sums[5] / Math.Max(sums[6], 1):F1}, max {max[0]}",
        ];
    }

    public void Dispose()
    {
        _stage?.Dispose();
        _pipeline?.Dispose();
        foreach (var piece in _pieces) piece.Optimizer.Dispose();
    }
}
