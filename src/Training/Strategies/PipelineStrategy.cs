using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Optim;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// Pipeline model parallelism with the GPipe schedule. The dense layers are split into contiguous stages, one per
/// rank (--split). Each global batch is cut into M micro-batches; stage s runs the forward pass of micro-batch m as
/// soon as stage s - 1 has sent its activations, and sends its own on; after all forwards, the backward passes run
/// in reverse micro-batch order with gradients flowing back. Parameter gradients are summed over micro-batches and
/// each stage steps its own layers, so the result equals single-rank training on the global batch. Messages carry
/// the micro-batch index as tag; activations come from s - 1 and gradients from s + 1, so sources tell them apart.
/// The bubble (idle share) of GPipe is (S - 1) / (M + S - 1); the measured share of time spent waiting is reported.
/// A stage's parameters, their summed gradients and the optimizer state stay in the kernel backend's buffers; only the
/// activations and their gradients that travel between stages cross to the host.
/// </summary>
internal sealed class PipelineStrategy : IStrategy
{
    private readonly StrategyContext _context;
    private readonly int _stage, _stages, _micro, _maxMicro, _firstLayer, _offset;
    private readonly Mlp _model;
    private readonly Activations[] _activations;
    private readonly DeviceBuffer<float>[] _inputs;
    private readonly DeviceBuffer<float>? _inputGradient;
    private readonly BatchInput? _batchInput;
    private readonly LossHead[] _heads;
    private readonly int[][] _labels;
    private readonly float[][] _sendBuffers;
    private readonly float[] _receiveBuffer;
    // The stage's parameter gradients summed over the micro-batches, shaped like the model's tensors.
    private readonly DeviceBuffer<float>[] _gradientSums;
    private readonly Optimizer _optimizer;
    private double _waitSeconds, _stepSeconds;

    public PipelineStrategy(StrategyContext context)
    {
        _context = context;
        var settings = context.Settings;
        _stage = context.World.Rank;
        _stages = context.World.Size;
        _micro = settings.MicroBatches;
        _maxMicro = (settings.BatchSize + _micro - 1) / _micro;
        _firstLayer = settings.Split.Take(_stage).Sum();
        int layers = settings.Split[_stage];
        var sizes = settings.Layers.Skip(_firstLayer).Take(layers + 1).ToArray();
        _offset = context.Layout.LayerOffset(_firstLayer);
        bool last = _stage == _stages - 1;
        _model = new Mlp(context.Backend, sizes, endsWithLogits: last);
        _activations = new Activations[_micro];
        _inputs = new DeviceBuffer<float>[_micro];
        for (int m = 0; m < _micro; m++)
        {
            _activations[m] = _model.CreateActivations(_maxMicro);
            _inputs[m] = context.Backend.Allocate<float>(_maxMicro * _model.InputSize);
        }
        if (_stage == 0) _batchInput = new BatchInput(context.Backend, context.Data.Train, _maxMicro);
        else _inputGradient = context.Backend.Allocate<float>(_maxMicro * _model.InputSize);
        _heads = last ? Enumerable.Range(0, _micro).Select(_ => new LossHead(context.Backend, _model.OutputSize, _maxMicro)).ToArray() : [];
        _labels = Enumerable.Range(0, _micro).Select(_ => new int[_maxMicro]).ToArray();
        int widest = Math.Max(_model.InputSize, _model.OutputSize);
        _sendBuffers = Enumerable.Range(0, _micro).Select(_ => new float[_maxMicro * widest]).ToArray();
        _receiveBuffer = new float[_maxMicro * widest];
        _gradientSums = _model.GradientTensors.Select(g => context.Backend.Allocate<float>(g.Length)).ToArray();
        _optimizer = new Optimizer(context.Backend, settings.Optimizer, _model.ParameterTensors, _gradientSums, context.Schedule);
    }

    private bool IsFirst => _stage == 0;
    private bool IsLast => _stage == _stages - 1;

    public void Load(Checkpoint state)
    {
        _model.WriteParameters(state.Parameters.AsSpan(_offset, _model.Layout.Count));
        _optimizer.Restore(state.OptimizerSlots, _offset, state.OptimizerSteps);
    }

    public EpochTally TrainEpoch(EpochSampler sampler, Action<int> onStep)
    {
        var world = _context.World;
        double lossSum = 0;
        long correct = 0, samples = 0;
        long epochStart = System.Diagnostics.Stopwatch.GetTimestamp();
        var sends = new List<Request>(_micro);
        for (int step = 0; step < sampler.StepCount; step++)
        {
            var batch = sampler.Batch(step);
            // Forward: micro-batches in order.
            for (int m = 0; m < _micro; m++)
            {
                var (start, n) = EpochSampler.ShardRange(batch.Length, m, _micro);
                var micro = batch.Slice(start, n);
                DeviceBuffer<float> input;
                if (IsFirst)
                {
                    _batchInput!.Load(micro).CopyTo(_labels[m]);
                    // Each micro-batch keeps its own input for the backward pass.
                    _context.Backend.Copy(_batchInput.Device, 0, _inputs[m], 0, n * _model.InputSize);
                }
                else
                {
                    Receive(_stage - 1, m, n * _model.InputSize);
                    _inputs[m].CopyFrom(_receiveBuffer.AsSpan(0, n * _model.InputSize));
                    if (IsLast) for (int i = 0; i < n; i++) _labels[m][i] = _context.Data.Train.Labels[micro[i]];
                }
                input = _inputs[m];
                var output = _model.Forward(_activations[m], input, n);
                if (IsLast)
                {
                    var (loss, right) = _heads[m].Compute(output, _labels[m].AsSpan(0, n), batch.Length);
                    lossSum += (double)loss * n;
                    correct += right;
                    samples += n;
                }
                else
                {
                    var send = _sendBuffers[m].AsMemory(0, n * _model.OutputSize);
                    output.CopyTo(send.Span);
                    sends.Add(world.Isend<float>(send, _stage + 1, m));
                }
            }
            WaitAll(sends);
            // Backward: micro-batches in reverse order; parameter gradients summed over micro-batches.
            // Zeros plus the first micro-batch's gradient, as the sum always was (0 + -0 is +0).
            foreach (var sum in _gradientSums) sum.Clear();
            for (int m = _micro - 1; m >= 0; m--)
            {
                var (_, n) = EpochSampler.ShardRange(batch.Length, m, _micro);
                DeviceBuffer<float> outputGradient;
                if (IsLast) outputGradient = _heads[m].Gradient;
                else
                {
                    Receive(_stage + 1, m, n * _model.OutputSize);
                    // Backward never uses the slot for dL/d(last output) as a target, so the received gradient goes there.
                    outputGradient = _activations[m].Gradients[^1];
                    outputGradient.CopyFrom(_receiveBuffer.AsSpan(0, n * _model.OutputSize));
                }
                _model.Backward(_activations[m], _inputs[m], outputGradient, _inputGradient, n);
                for (int t = 0; t < _gradientSums.Length; t++) _context.Backend.Add(_gradientSums[t], _model.GradientTensors[t]);
                if (!IsFirst)
                {
                    var send = _sendBuffers[m].AsMemory(0, n * _model.InputSize);
                    _inputGradient!.CopyTo(send.Span);
                    sends.Add(world.Isend<float>(send, _stage - 1, m));
                }
            }
            WaitAll(sends);
            _optimizer.Step();
            onStep(step);
        }
        _stepSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(epochStart).TotalSeconds;
        return new EpochTally(lossSum, correct, samples);
    }

    private void Receive(int source, int tag, int count)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        _context.World.Receive<float>(_receiveBuffer.AsSpan(0, count), source, tag);
        _context.Clock.Add(start);
        _waitSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private void WaitAll(List<Request> sends)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var request in sends) request.Wait();
        sends.Clear();
        _context.Clock.Add(start);
        _waitSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    public Checkpoint Gather(int completedEpochs)
    {
        var settings = _context.Settings;
        int count = _context.Layout.Count;
        var stage = new float[_model.Layout.Count];
        _model.ReadParameters(stage);
        var parameters = StateGather.Assemble(_context.World, count, _offset, stage);
        var slots = StateGather.AssembleSlots(_context.World, _optimizer, settings.Optimizer.SlotCount, count, _offset);
        return new Checkpoint(settings.Layers, completedEpochs, settings.Seed, settings.Optimizer.Kind, _optimizer.StepCount, parameters, slots);
    }

    public IReadOnlyList<string> Describe()
    {
        Span<double> sums = [_waitSeconds, _stepSeconds];
        _context.World.AllReduce(sums, ReduceOp.Sum);
        double ideal = (double)(_stages - 1) / (_micro + _stages - 1);
        return
        [
            $"pipeline: {_stages} stages (layers per stage {string.Join(",", _context.Settings.Split)}), {_micro} micro-batches per batch of {_context.Settings.BatchSize}",
            $"bubble: GPipe schedule {100 * ideal:F1}% idle; measured share of stage time spent waiting on neighbours {100 * sums[0] / Math.Max(sums[1], 1e-9):F1}%",
        ];
    }

    public void Dispose()
    {
        _model.Dispose();
        foreach (var a in _activations) a.Dispose();
        foreach (var b in _inputs) b.Dispose();
        _inputGradient?.Dispose();
        _batchInput?.Dispose();
        foreach (var h in _heads) h.Dispose();
        _optimizer.Dispose();
        foreach (var sum in _gradientSums) sum.Dispose();
    }
}
