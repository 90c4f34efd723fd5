using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Strategies;

namespace AllReduceNet.Training.Training;

/// <summary>Test accuracy of a full parameter vector: each rank classifies its share of the test set, counts are summed.</summary>
internal sealed class Evaluator : IDisposable
{
    private const int ChunkRows = 500;
    private readonly Communicator _world;
    private readonly Dataset _test;
    private readonly Mlp _model;
    private readonly Activations _activations;
    private readonly LossHead _head;
    private readonly BatchInput _input;

    public Evaluator(Communicator world, IKernelBackend backend, int[] layers, Dataset test)
    {
        _world = world;
        _test = test;
        _model = new Mlp(backend, layers);
        _activations = _model.CreateActivations(ChunkRows);
        _head = new LossHead(backend, _model.OutputSize, ChunkRows);
        _input = new BatchInput(backend, test, ChunkRows);
    }

    /// <summary>Collective: returns the fraction of test samples classified correctly.</summary>
    public double Accuracy(ReadOnlySpan<float> parameters)
    {
        _model.WriteParameters(parameters);
        var (start, length) = EpochSampler.ShardRange(_test.Count, _world.Rank, _world.Size);
        var indices = new int[ChunkRows];
        long correct = 0;
        for (int done = 0; done < length; done += ChunkRows)
        {
            int n = Math.Min(ChunkRows, length - done);
            for (int i = 0; i < n; i++) indices[i] = start + done + i;
            var labels = _input.Load(indices.AsSpan(0, n));
            correct += _head.CountCorrect(_model.Forward(_activations, _input.Device, n), labels);
        }
        Span<long> total = [correct];
        _world.AllReduce(total, ReduceOp.Sum);
        return _test.Count == 0 ? 0 : (double)total[0] / _test.Count;
    }

    public void Dispose()
    {
        _model.Dispose();
        _activations.Dispose();
        _head.Dispose();
        _input.Dispose();
    }
}
