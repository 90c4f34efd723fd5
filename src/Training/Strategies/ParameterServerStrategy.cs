using AllReduceNet.Collectives;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// A DistBelief-style parameter server. The last K ranks are servers; server j owns the contiguous shard j of the flat
/// parameter vector and its optimizer state. The other W ranks are workers: each step a worker computes the gradient
/// of its slice of the global batch, pushes each server its shard of it (sparse when that is smaller, see
/// <see cref="SparseGradientCodec"/>) and pulls the server's parameters back (point-to-point).
/// <para>
/// --sync: a server waits for all W pushes of a step, sums them in worker order and takes one optimizer step: the same
/// update as ddp. --async: a server applies each push as it arrives (each a step with that worker's 1/W share of the
/// batch) and replies at once, unless the pusher would then be more than S steps ahead of the slowest worker: that
/// reply is held back until the slowest catches up, which bounds staleness by S.
/// </para>
/// World is split into a worker and a server sub-communicator; they carry each side's statistics.
/// </summary>
internal sealed class ParameterServerStrategy : IStrategy
{
    private const int PushTag = 1, PullTag = 2;
    private readonly StrategyContext _context;
    private readonly Communicator _side;
    private readonly int _workers, _servers;
    private readonly bool _isServer;
    private readonly (int Start, int Length)[] _shards;

    // Worker state.
    private readonly ModelReplica? _replica;
    private readonly float[] _parameters = [], _gradients = [];
    private readonly int[][] _pushMessages = [];
    private long _bytesSent, _bytesDense;

    // Server state.
    private readonly ShardOptimizer? _optimizer;
    private readonly float[] _shard = [], _accumulator = [];
    private readonly int[] _receive = [];
    private readonly float[][] _replies = [];
    private long _held, _maxStaleness;
    // --aggregator with --sync: each worker's decoded push of this server's shard, and what the rule did over the run.
    private readonly float[][] _pushes = [];
    private long _rejected, _downWeighted, _robustSteps;

    public ParameterServerStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        _servers = settings.Servers;
        _workers = context.World.Size - _servers;
        _isServer = context.World.Rank >= _workers;
        _side = context.World.Split(_isServer ? 1 : 0, context.World.Rank)
            ?? throw new InvalidOperationException("Split returned no communicator for a non-negative color.");
        int count = context.Layout.Count;
        _shards = Enumerable.Range(0, _servers).Select(j => EpochSampler.ShardRange(count, j, _servers)).ToArray();
        if (_isServer)
        {
            var (_, length) = _shards[context.World.Rank - _workers];
            _optimizer = new ShardOptimizer(context.Backend, settings.Optimizer, length, context.Schedule);
            _shard = new float[length];
            _accumulator = new float[length];
            _receive = new int[SparseGradientCodec.Capacity(length)];
            _replies = Enumerable.Range(0, settings.Async ? _workers : 1).Select(_ => new float[length]).ToArray();
            if (settings.ParameterServerRule is not null) _pushes = Enumerable.Range(0, _workers).Select(_ => new float[length]).ToArray();
        }
        else
        {
            _replica = new ModelReplica(context, _workers);
            _parameters = new float[count];
            _gradients = new float[count];
            _pushMessages = _shards.Select(s => new int[SparseGradientCodec.Capacity(s.Length)]).ToArray();
        }
    }

    private int ServerRank(int server) => _workers + server;
    private int ShardStart => _isServer ? _shards[_context.World.Rank - _workers].Start : 0;

    public void Load(Checkpoint state)
    {
        if (_isServer)
        {
            state.Parameters.AsSpan(ShardStart, _shard.Length).CopyTo(_shard);
            _optimizer!.Load(_shard);
            _optimizer.Optimizer.Restore(state.OptimizerSlots, ShardStart, state.OptimizerSteps);
        }
        else
        {
            state.Parameters.CopyTo(_parameters, 0);
            _replica!.Model.WriteParameters(_parameters);
        }
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        if (!_isServer) return WorkerEpoch(sampler, onStep);
        if (_context.Settings.Async) ServeAsync(sampler.StepCount);
        else ServeSync(sampler.StepCount, onStep);
        return default;
    }

    private EpochTally WorkerEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var world = _context.World;
        var tally = default(EpochTally);
        var pushes = new Request[_servers];
        for (int step = 0; step < sampler.StepCount; step++)
        {
            tally = _replica!.ForwardBackward(sampler, step, world.Rank, _workers, tally);
            _replica.Model.ReadGradients(_gradients);
            _context.Clock.Time(() =>
            {
                for (int j = 0; j < _servers; j++)
                {
                    var (start, length) = _shards[j];
                    int ints = SparseGradientCodec.Encode(_gradients.AsSpan(start, length), _pushMessages[j]);
                    _bytesSent += 4L * ints;
                    _bytesDense += 4L * SparseGradientCodec.Capacity(length);
                    pushes[j] = world.Isend<int>(_pushMessages[j].AsMemory(0, ints), ServerRank(j), PushTag);
                }
                for (int j = 0; j < _servers; j++)
                {
                    var (start, length) = _shards[j];
                    world.Receive<float>(_parameters.AsSpan(start, length), ServerRank(j), PullTag);
                }
                foreach (var push in pushes) push.Wait();
            });
            _replica.Model.WriteParameters(_parameters);
            onStep(step);
        }
        return tally;
    }

    private void ServeSync(int steps, Action<int> onStep)
    {
        var world = _context.World;
        var replies = new Request[_workers];
        for (int step = 0; step < steps; step++)
        {
            Array.Clear(_accumulator);
            // In worker order, so the sum is the same in every run.
            for (int w = 0; w < _workers; w++)
            {
                var status = world.Receive<int>(_receive, w, PushTag);
                if (_pushes.Length > 0) Array.Clear(_pushes[w]);
                SparseGradientCodec.AddTo(_receive.AsSpan(0, (int)status.Count<int>()), _pushes.Length > 0 ? _pushes[w] : _accumulator);
            }
            if (_context.Settings.ParameterServerRule is { } rule) RobustSum(rule);
            _optimizer!.Step(_accumulator, _shard);
            _shard.CopyTo(_replies[0], 0);
            for (int w = 0; w < _workers; w++) replies[w] = world.Isend<float>(_replies[0], w, PullTag);
            foreach (var reply in replies) reply.Wait();
            onStep(step);
        }
    }

    /// <summary>
    /// The rule over the workers' pushes in place of their sum: each push is one worker's 1/W share of the batch
    /// gradient, so the rule's result (a mean-like value) times W stands for the sum. Krum-type rules see this server's
    /// shard only: with --servers 1 that is the whole gradient, with more servers a block-wise Krum.
    /// </summary>
    private void RobustSum(Federated.IRobustRule rule)
    {
        var outcome = rule.Aggregate(_pushes, Enumerable.Repeat(1.0, _workers).ToArray());
        System.Numerics.Tensors.TensorPrimitives.Multiply(outcome.Delta, _workers, _accumulator);
        _rejected += outcome.Rejected.Length;
        _downWeighted += outcome.DownWeighted.Length;
        _robustSteps++;
    }

    private void ServeAsync(int steps)
    {
        var world = _context.World;
        var clock = new long[_workers];         // pushes received from each worker this epoch
        var basedOn = new long[_workers];       // server version each worker last pulled
        var held = new bool[_workers];
        var replies = new Request?[_workers];
        long version = 0;
        int staleness = _context.Settings.Staleness;
        for (long received = 0; received < (long)steps * _workers; received++)
        {
            var status = world.Receive<int>(_receive, Communicator.AnySource, PushTag);
            int w = status.Source;
            Array.Clear(_accumulator);
            SparseGradientCodec.AddTo(_receive.AsSpan(0, (int)status.Count<int>()), _accumulator);
            _optimizer!.Step(_accumulator, _shard);
            _maxStaleness = Math.Max(_maxStaleness, version - basedOn[w]);
            version++;
            clock[w]++;
            held[w] = true;
            long slowest = clock.Min();
            for (int v = 0; v < _workers; v++)
            {
                if (!held[v]) continue;
                if (clock[v] - slowest > staleness) { if (v == w) _held++; continue; }
                held[v] = false;
                replies[v]?.Wait();
                _shard.CopyTo(_replies[v], 0);
                basedOn[v] = version;
                replies[v] = world.Isend<float>(_replies[v], v, PullTag);
            }
        }
        foreach (var reply in replies) reply?.Wait();
    }

    public Checkpoint Gather(int completedEpochs)
    {
        var settings = _context.Settings;
        int count = _context.Layout.Count;
        var parameters = StateGather.Assemble(_context.World, count, ShardStart, _shard);
        var slots = StateGather.AssembleSlots(_context.World, _optimizer?.Optimizer, settings.Optimizer.SlotCount, count, ShardStart);
        long steps = StateGather.MaxSteps(_context.World, _optimizer?.Optimizer.StepCount ?? 0);
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, steps, parameters, slots);
    }

    public IReadOnlyList<string> Describe()
    {
        // Each side sums its own statistics on its sub-communicator; then the world carries them to rank 0.
        Span<long> robust = [_rejected, _downWeighted, _robustSteps];
        _context.World.AllReduce(robust, ReduceOp.Sum);
        Span<long> local = _isServer ? [0, 0, _held, 0] : [_bytesSent, _bytesDense, 0, 0];
        _side.AllReduce(local, ReduceOp.Sum);
        Span<long> stale = [_maxStaleness];
        _side.AllReduce(stale, ReduceOp.Max);
        local[3] = stale[0];
        // Every member of a side now holds its side's totals and the other side holds zeros there: Max carries them.
        Span<long> all = [local[0], local[1], local[2], local[3]];
        _context.World.AllReduce(all, ReduceOp.Max);
        double saved = all[1] == 0 ? 0 : 1 - (double)all[0] / all[1];
        var lines = new List<string>
        {
            $"ps: {_workers} workers, {_servers} servers (shards of {string.Join(",", _shards.Select(s => s.Length))} parameters), {(_context.Settings.Async ? $"async, staleness bound {_context.Settings.Staleness}" : "sync")}",
            $"pushes: {all[0] / 1e6:F1} MB sent instead of {all[1] / 1e6:F1} MB dense: sparse encoding saved {100 * saved:F1}% ({(all[1] - all[0]) / 1e6:F1} MB)",
        };
        if (_context.Settings.ParameterServerRule is { } rule)
            lines.Add($"robust {rule.Name} over the {_workers} workers' pushes: {robust[0]} pushes rejected and {robust[1]} down-weighted in {robust[2]} server steps (summed over the {_servers} servers)");
        if (_context.Settings.Async)
            lines.Add($"async: {all[2]} replies held back by the staleness bound; largest staleness seen {all[3]} server updates");
        return lines;
    }

    public void Dispose()
    {
        _replica?.Dispose();
        _optimizer?.Dispose();
        _side.Dispose();
    }
}
