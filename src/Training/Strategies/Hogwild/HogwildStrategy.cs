using System.Numerics.Tensors;
using AllReduceNet.Collectives.Diagnostics;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Transport;

namespace AllReduceNet.Training.Strategies.Hogwild;

/// <summary>
/// Hogwild! (Niu, Recht, Ré and Wright 2011): the ranks are threads of one process, and all of them update one shared
/// copy of the parameters (<see cref="SharedParameters"/>) without locks and without waiting for each other. Each
/// step, a rank reads the shared parameters into its own model, computes the gradient of its share of the step's
/// global batch (divided by the global batch, as in ddp), and subtracts lr x gradient from the shared copy, entry by
/// entry, skipping entries whose gradient is zero: a first-layer weight row is zero for every pixel that is blank in
/// all of the rank's samples (Fashion-MNIST with --normalize scale) and a ReLU unit that is off for the whole shard
/// zeroes a column, so much of each update is never written and collisions are rarer. Ranks meet only at the end of
/// an epoch. Plain SGD, no momentum: that is what the paper analyses, and a momentum buffer would make every update
/// dense.
/// </summary>
internal sealed class HogwildStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly ModelReplica _replica;
    private readonly SharedParameters _shared;
    private readonly float[] _local, _gradients;
    private long _steps, _written, _considered;

    public HogwildStrategy(StrategyContext context)
    {
        // The validator refuses mpiexec already; this guards callers that build settings themselves.
        if (WorldLauncher.UnderMpi)
            throw new TrainingException("--strategy hogwild runs in-process only: its ranks share one copy of the parameters in memory.");
        _context = context;
        _replica = new ModelReplica(context, context.Settings.Ranks);
        _shared = new SharedParameters(context.World, context.Layout.Count);
        _local = new float[context.Layout.Count];
        _gradients = new float[context.Layout.Count];
    }

    public void Load(Checkpoint state)
    {
        if (_context.World.Rank == 0) _shared.CopyFrom(state.Parameters);
        _steps = state.OptimizerSteps;
        // Nobody reads the shared copy before rank 0 has written it.
        _context.World.Barrier();
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var world = _context.World;
        var tally = default(EpochTally);
        for (int step = 0; step < sampler.StepCount; step++)
        {
            _shared.CopyTo(_local);
            _replica.Model.WriteParameters(_local);
            tally = _replica.ForwardBackward(sampler, step, world.Rank, world.Size, tally);
            _replica.Model.ReadGradients(_gradients);
            using (Timeline.Span(world, "hogwild update", "train")) ApplySparse(_context.Schedule.Current);
            onStep(step);
        }
        // Every rank ran the same number of steps; the count stands for the global steps taken.
        _steps += sampler.StepCount;
        return tally;
    }

    /// <summary>shared -= lr x gradient on the gradient's non-zero entries, one scalar read-modify-write each.</summary>
    private void ApplySparse(float learningRate)
    {
        var shared = _shared.Values;
        var layout = _context.Layout;
        for (int l = 0; l < layout.LayerCount; l++)
        {
            int offset = layout.LayerOffset(l), inputs = layout.Sizes[l], outputs = layout.Sizes[l + 1];
            _considered += layout.LayerLength(l);
            // Weight rows, one per input unit: a row that is all zero (a blank pixel, a dead unit) is skipped whole.
            for (int row = 0; row <= inputs; row++)
            {
                int start = offset + row * outputs;   // row == inputs is the bias
                var gradient = _gradients.AsSpan(start, outputs);
                if (TensorPrimitives.MaxMagnitude(gradient) == 0f) continue;
                for (int j = 0; j < outputs; j++)
                {
                    float g = gradient[j];
                    if (g == 0f) continue;
                    shared[start + j] -= learningRate * g;
                    _written++;
                }
            }
        }
    }

    public Checkpoint Gather(int completedEpochs)
    {
        // The trainer has synchronized the ranks after the epoch: no rank is writing any more.
        var parameters = new float[_context.Layout.Count];
        _shared.CopyTo(parameters);
        var settings = _context.Settings;
        var slots = new float[settings.Optimizer.SlotCount][];
        for (int s = 0; s < slots.Length; s++) slots[s] = new float[parameters.Length];
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, _steps, parameters, slots);
    }

    public IReadOnlyList<string> Describe()
    {
        Span<double> counts = [_written, _considered];
        _context.World.AllReduce(counts, Collectives.ReduceOp.Sum);
        return
        [
            $"hogwild: {_context.World.Size} threads update one shared parameter vector without locks (lost updates possible, torn floats not; docs/hogwild.md)",
            string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"sparse updates: {100 * counts[0] / Math.Max(counts[1], 1):F1}% of the parameter entries written per update (zero gradient entries skipped)"),
        ];
    }

    public void Dispose() => _replica.Dispose();
}
