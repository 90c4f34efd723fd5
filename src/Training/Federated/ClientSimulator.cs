using AllReduceNet.Kernels;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Optim;
using AllReduceNet.Training.Strategies;

namespace AllReduceNet.Training.Federated;

/// <summary>
/// Runs one rank's share of the sampled clients, one after another, on one model replica: each client starts from the
/// global model, makes its local epochs of mini-batch SGD over its own samples (shuffled by seed(round, client,
/// epoch); the last batch of an epoch may be smaller, as a DataLoader without drop_last gives), and reports its
/// sample-weighted delta. A client's result is a pure function of (global model, its data, round, seed): it does not
/// depend on which rank runs it or which client ran before (the momentum buffer starts at zero for every client).
/// fedprox adds mu (w - w_global) to every gradient: the gradient of (mu/2)||w - w_global||^2.
/// </summary>
internal sealed class ClientSimulator : IDisposable
{
    private readonly IKernelBackend _backend;
    private readonly FederatedSettings _federated;
    private readonly int _seed;
    private readonly Mlp _model;
    private readonly Activations _activations;
    private readonly LossHead _head;
    private readonly BatchInput _input;
    private readonly Optimizer _optimizer;
    private readonly LearningRateSchedule _schedule;
    private readonly float[][] _zeroSlots;
    // fedprox: -mu w_global per parameter tensor, added to the gradient (the optimizer's weight decay adds mu w).
    private readonly DeviceBuffer<float>[]? _proximalAnchor;
    private readonly float[] _local;
    // --attack labelflip: the malicious clients' batches come from the training set with every label y as C - 1 - y.
    private readonly ClientAttack? _attack;
    private readonly BatchInput? _flippedInput;

    public ClientSimulator(IKernelBackend backend, Cli.TrainSettings settings, FederatedSettings federated, Dataset train, ClientAttack? attack = null)
    {
        _backend = backend;
        _federated = federated;
        _seed = settings.Seed;
        _model = new Mlp(backend, settings.Layers);
        _activations = _model.CreateActivations(federated.LocalBatch);
        _head = new LossHead(backend, _model.OutputSize, federated.LocalBatch);
        _input = new BatchInput(backend, train, federated.LocalBatch);
        var client = settings.Optimizer;
        _schedule = new LearningRateSchedule(client.LearningRate, settings.CosineSchedule, settings.Epochs);
        _optimizer = new Optimizer(backend, client with { WeightDecay = client.WeightDecay + federated.ProximalMu },
            _model.ParameterTensors, _model.GradientTensors, _schedule);
        _zeroSlots = Enumerable.Range(0, client.SlotCount).Select(_ => new float[_optimizer.Length]).ToArray();
        if (federated.ProximalMu > 0)
            _proximalAnchor = _model.ParameterTensors.Select(t => backend.Allocate<float>(t.Length)).ToArray();
        _local = new float[_optimizer.Length];
        if (attack?.Spec.Kind == AttackKind.LabelFlip)
        {
            _attack = attack;
            var flipped = train.Labels.Select(y => train.Classes - 1 - y).ToArray();
            _flippedInput = new BatchInput(backend, new Dataset(train.Inputs, flipped, train.Features, train.Classes), federated.LocalBatch);
        }
    }

    /// <summary>Trains client <paramref name="client"/> on <paramref name="samples"/> from <paramref name="global"/>.</summary>
    /// <returns>Its update and its training loss summed over its samples and epochs, with the correct predictions.</returns>
    public (ClientUpdate Update, double LossSum, long Correct, long Seen) Train(int round, int client, int[] samples, ReadOnlySpan<float> global)
    {
        _schedule.SetEpoch(round);
        _model.WriteParameters(global);
        _optimizer.Restore(_zeroSlots, 0, 0);
        if (_proximalAnchor is not null) LoadAnchor(global);
        var order = (int[])samples.Clone();
        double lossSum = 0;
        long correct = 0, seen = 0;
        int batch = _federated.LocalBatch;
        var input = _flippedInput is not null && _attack!.IsMalicious(client) ? _flippedInput : _input;
        for (int epoch = 0; epoch < _federated.LocalEpochs; epoch++)
        {
            FederatedRandom.For(_seed, FederatedRandom.Purpose.LocalShuffle, round, client, epoch).Shuffle(order);
            for (int start = 0; start < order.Length; start += batch)
            {
                int n = Math.Min(batch, order.Length - start);
                var labels = input.Load(order.AsSpan(start, n));
                var logits = _model.Forward(_activations, input.Device, n);
                var (loss, right) = _head.Compute(logits, labels, n);
                _model.Backward(_activations, input.Device, _head.Gradient, null, n);
                if (_proximalAnchor is not null)
                    for (int t = 0; t < _proximalAnchor.Length; t++) _backend.Add(_model.GradientTensors[t], _proximalAnchor[t]);
                _optimizer.Step();
                lossSum += (double)loss * n;
                correct += right;
                seen += n;
            }
        }
        _model.ReadParameters(_local);
        var vector = new float[_local.Length + 1];
        float weight = samples.Length;
        for (int i = 0; i < _local.Length; i++) vector[i] = (_local[i] - global[i]) * weight;
        vector[^1] = weight;
        return (new ClientUpdate(client, vector), lossSum, correct, seen);
    }

    private void LoadAnchor(ReadOnlySpan<float> global)
    {
        int offset = 0;
        foreach (var anchor in _proximalAnchor!)
        {
            anchor.CopyFrom(global.Slice(offset, anchor.Length));
            _backend.Scale(anchor, -_federated.ProximalMu);
            offset += anchor.Length;
        }
    }

    public void Dispose()
    {
        _model.Dispose();
        _activations.Dispose();
        _head.Dispose();
        _input.Dispose();
        _flippedInput?.Dispose();
        _optimizer.Dispose();
        if (_proximalAnchor is not null)
            foreach (var anchor in _proximalAnchor) anchor.Dispose();
    }
}
