using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;

namespace AllReduceNet.Training.Strategies;

/// <summary>
/// One stage of a GPipe pipeline: the engine that pipeline, hybrid and downpour share. The dense layers are split
/// into contiguous stages (one per rank of the <c>pipeline</c> communicator, whose rank is the stage index). A step
/// cuts the pipeline's rows into M micro-batches; stage s runs the forward pass of micro-batch m as soon as stage
/// s - 1 has sent its activations, and sends its own on; after all forwards, the backward passes run in reverse
/// micro-batch order with gradients flowing back. The stage's parameter gradients are summed over the micro-batches
/// (<see cref="GradientSums"/>), in the same order on every run. Messages carry the micro-batch index as tag;
/// activations come from s - 1 and gradients from s + 1, so sources tell them apart.
/// <para>
/// During the last backward micro-batch, each layer's sum is complete as soon as that layer is done, and is
/// announced then (the layerReady callback of <see cref="Step"/>), so a caller can start communicating it while the
/// earlier layers are still being computed. Parameters, gradient sums and activations stay in the kernel backend's
/// buffers; only the activations and their gradients that travel between stages cross to the host.
/// </para>
/// </summary>
internal sealed class GpipeStage : IDisposable
{
    private readonly StrategyContext _context;
    private readonly Communicator _pipeline;
    private readonly int _micro;
    private readonly Activations[] _activations;
    private readonly DeviceBuffer<float>[] _inputs;
    private readonly DeviceBuffer<float>? _inputGradient;
    private readonly BatchInput? _batchInput;
    private readonly LossHead[] _heads;
    private readonly int[][] _labels;
    private readonly float[][] _sendBuffers;
    private readonly float[] _receiveBuffer;
    private readonly DeviceBuffer<float>[] _gradientSums;
    private readonly List<Request> _sends;

    /// <param name="context">The run's context (backend, data, clock).</param>
    /// <param name="pipeline">The stages of this pipeline, in order: its rank is this stage's index.</param>
    /// <param name="split">Dense layers per stage, one entry per rank of <paramref name="pipeline"/>.</param>
    /// <param name="maxRows">The most rows one step gives this pipeline.</param>
    public GpipeStage(StrategyContext context, Communicator pipeline, IReadOnlyList<int> split, int maxRows)
    {
        _context = context;
        _pipeline = pipeline;
        var settings = context.Settings;
        Stage = pipeline.Rank;
        Stages = pipeline.Size;
        // A single stage has no pipeline to fill: cutting its rows would only shrink the matrix products.
        _micro = Stages == 1 ? 1 : settings.MicroBatches;
        int maxMicro = (maxRows + _micro - 1) / _micro;
        FirstLayer = split.Take(Stage).Sum();
        var sizes = settings.Layers.Skip(FirstLayer).Take(split[Stage] + 1).ToArray();
        Offset = context.Layout.LayerOffset(FirstLayer);
        Model = new Mlp(context.Backend, sizes, endsWithLogits: IsLast);
        _activations = new Activations[_micro];
        _inputs = new DeviceBuffer<float>[_micro];
        for (int m = 0; m < _micro; m++)
        {
            _activations[m] = Model.CreateActivations(maxMicro);
            _inputs[m] = context.Backend.Allocate<float>(maxMicro * Model.InputSize);
        }
        if (IsFirst) _batchInput = new BatchInput(context.Backend, context.Data.Train, maxMicro);
        else _inputGradient = context.Backend.Allocate<float>(maxMicro * Model.InputSize);
        _heads = IsLast ? Enumerable.Range(0, _micro).Select(_ => new LossHead(context.Backend, Model.OutputSize, maxMicro)).ToArray() : [];
        _labels = Enumerable.Range(0, _micro).Select(_ => new int[maxMicro]).ToArray();
        int widest = Math.Max(Model.InputSize, Model.OutputSize);
        _sendBuffers = Enumerable.Range(0, _micro).Select(_ => new float[maxMicro * widest]).ToArray();
        _receiveBuffer = new float[maxMicro * widest];
        _gradientSums = Model.GradientTensors.Select(g => context.Backend.Allocate<float>(g.Length)).ToArray();
        _sends = new List<Request>(_micro);
    }

    /// <summary>Micro-batches per step: --micro-batches, or 1 for a single-stage pipeline.</summary>
    public int MicroBatches => _micro;

    public int Stage { get; }
    public int Stages { get; }
    public bool IsFirst => Stage == 0;
    public bool IsLast => Stage == Stages - 1;

    /// <summary>The index of this stage's first layer in the whole model.</summary>
    public int FirstLayer { get; }

    /// <summary>Where this stage's parameters start in the flat parameter vector.</summary>
    public int Offset { get; }

    /// <summary>This stage's layers.</summary>
    public Mlp Model { get; }

    /// <summary>The stage's parameter gradients summed over the micro-batches of the last step, shaped like <see cref="Mlp.ParameterTensors"/>.</summary>
    public IReadOnlyList<DeviceBuffer<float>> GradientSums => _gradientSums;

    /// <summary>Seconds spent waiting on the neighbouring stages.</summary>
    public double WaitSeconds { get; private set; }

    /// <summary>
    /// One GPipe step over <paramref name="rows"/> (this pipeline's samples of the step). The loss is divided by
    /// <paramref name="lossDivisor"/> (the global batch, so that gradients summed over pipelines are the global
    /// mean's). <paramref name="layerReady"/> gets each stage-local layer index once its gradient sum is complete.
    /// Returns the tally with this step added (loss and accuracy only on the last stage).
    /// </summary>
    public EpochTally Step(ReadOnlySpan<int> rows, int lossDivisor, EpochTally tally, Action<int>? layerReady = null)
    {
        for (int m = 0; m < _micro; m++)
        {
            var (start, n) = EpochSampler.ShardRange(rows.Length, m, _micro);
            var micro = rows.Slice(start, n);
            if (IsFirst)
            {
                _batchInput!.Load(micro).CopyTo(_labels[m]);
                // Each micro-batch keeps its own input for the backward pass.
                _context.Backend.Copy(_batchInput.Device, 0, _inputs[m], 0, n * Model.InputSize);
            }
            else
            {
                Receive(Stage - 1, m, n * Model.InputSize);
                _inputs[m].CopyFrom(_receiveBuffer.AsSpan(0, n * Model.InputSize));
                if (IsLast) for (int i = 0; i < n; i++) _labels[m][i] = _context.Data.Train.Labels[micro[i]];
            }
            var output = Model.Forward(_activations[m], _inputs[m], n);
            if (IsLast)
            {
                var (loss, right) = _heads[m].Compute(output, _labels[m].AsSpan(0, n), lossDivisor);
                tally = new EpochTally(tally.LossSum + (double)loss * n, tally.Correct + right, tally.Samples + n);
            }
            else
            {
                var send = _sendBuffers[m].AsMemory(0, n * Model.OutputSize);
                output.CopyTo(send.Span);
                _sends.Add(_pipeline.Isend<float>(send, Stage + 1, m));
            }
        }
        WaitAll();
        // Zeros plus the first micro-batch's gradient, as the sum always was (0 + -0 is +0).
        foreach (var sum in _gradientSums) sum.Clear();
        for (int m = _micro - 1; m >= 0; m--)
        {
            var (_, n) = EpochSampler.ShardRange(rows.Length, m, _micro);
            DeviceBuffer<float> outputGradient;
            if (IsLast) outputGradient = _heads[m].Gradient;
            else
            {
                Receive(Stage + 1, m, n * Model.OutputSize);
                // Backward never uses the slot for dL/d(last output) as a target, so the received gradient goes there.
                outputGradient = _activations[m].Gradients[^1];
                outputGradient.CopyFrom(_receiveBuffer.AsSpan(0, n * Model.OutputSize));
            }
            bool lastMicro = m == 0;
            Model.Backward(_activations[m], _inputs[m], outputGradient, _inputGradient, n, layer =>
            {
                _context.Backend.Add(_gradientSums[2 * layer], Model.GradientTensors[2 * layer]);
                _context.Backend.Add(_gradientSums[2 * layer + 1], Model.GradientTensors[2 * layer + 1]);
                if (lastMicro) layerReady?.Invoke(layer);
            });
            if (!IsFirst)
            {
                var send = _sendBuffers[m].AsMemory(0, n * Model.InputSize);
                _inputGradient!.CopyTo(send.Span);
                _sends.Add(_pipeline.Isend<float>(send, Stage - 1, m));
            }
        }
        WaitAll();
        return tally;
    }

    /// <summary>Copies stage-local layer <paramref name="layer"/>'s gradient sum (weights then bias) into <paramref name="bucket"/>.</summary>
    public void ReadGradientSum(int layer, Span<float> bucket)
    {
        int weights = Model.Layout.WeightCount(layer);
        _gradientSums[2 * layer].CopyTo(bucket[..weights]);
        _gradientSums[2 * layer + 1].CopyTo(bucket.Slice(weights, Model.Layout.Sizes[layer + 1]));
    }

    /// <summary>Overwrites stage-local layer <paramref name="layer"/>'s gradient sum with <paramref name="bucket"/> (weights then bias).</summary>
    public void WriteGradientSum(int layer, ReadOnlySpan<float> bucket)
    {
        int weights = Model.Layout.WeightCount(layer);
        _gradientSums[2 * layer].CopyFrom(bucket[..weights]);
        _gradientSums[2 * layer + 1].CopyFrom(bucket.Slice(weights, Model.Layout.Sizes[layer + 1]));
    }

    private void Receive(int source, int tag, int count)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        _pipeline.Receive<float>(_receiveBuffer.AsSpan(0, count), source, tag);
        _context.Clock.Add(start);
        WaitSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private void WaitAll()
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var request in _sends) request.Wait();
        _sends.Clear();
        _context.Clock.Add(start);
        WaitSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    public void Dispose()
    {
        Model.Dispose();
        foreach (var a in _activations) a.Dispose();
        foreach (var b in _inputs) b.Dispose();
        _inputGradient?.Dispose();
        _batchInput?.Dispose();
        foreach (var h in _heads) h.Dispose();
        foreach (var sum in _gradientSums) sum.Dispose();
    }
}
