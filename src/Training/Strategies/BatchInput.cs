using AllReduceNet.Collectives;
using AllReduceNet.Kernels;
using AllReduceNet.Training.Data;

namespace AllReduceNet.Training.Strategies;

/// <summary>Host staging and the device input buffer for one rank's share of a batch.</summary>
internal sealed class BatchInput : IDisposable
{
    private readonly Dataset _data;
    private readonly float[] _host;
    private readonly int[] _labels;

    public BatchInput(IKernelBackend backend, Dataset data, int maxBatch)
    {
        _data = data;
        _labels = new int[maxBatch];
        Device = backend.Allocate<float>(maxBatch * data.Features);
        _host = Device.TryGetHostMemory(out _) ? [] : new float[maxBatch * data.Features];
    }

    public DeviceBuffer<float> Device { get; }

    /// <summary>Loads the samples into <see cref="Device"/>; returns their labels.</summary>
    public ReadOnlySpan<int> Load(ReadOnlySpan<int> indices)
    {
        int n = indices.Length;
        // The CPU backend's buffer is host memory: the rows go straight there, not through a second 400 KB copy.
        if (Device.TryGetHostMemory(out var device)) _data.Gather(indices, device.Span[..(n * _data.Features)], _labels.AsSpan(0, n));
        else
        {
            _data.Gather(indices, _host.AsSpan(0, n * _data.Features), _labels.AsSpan(0, n));
            Device.CopyFrom(_host.AsSpan(0, n * _data.Features));
        }
        return _labels.AsSpan(0, n);
    }

    /// <summary>
    /// Loads the same whole batch on every rank of <paramref name="world"/>, each rank gathering only its equal share of
    /// the rows and an in-place AllGather completing the rest (the rows are a random gather from the data set, which
    /// costs more than passing them between cores). Every rank must call it with the same indices. A batch the ranks
    /// cannot share equally is loaded whole by every rank. Returns all the labels.
    /// </summary>
    public ReadOnlySpan<int> LoadTogether(ReadOnlySpan<int> indices, Communicator world, CollectiveOptions options)
    {
        int n = indices.Length, ranks = world.Size, features = _data.Features;
        if (ranks == 1 || n % ranks != 0) return Load(indices);
        int share = n / ranks, first = world.Rank * share;
        bool host = Device.TryGetHostMemory(out var device);
        var rows = host ? device.Span[..(n * features)] : _host.AsSpan(0, n * features);
        _data.Gather(indices.Slice(first, share), rows.Slice(first * features, share * features), _labels.AsSpan(first, share));
        for (int i = 0; i < n; i++) _labels[i] = _data.Labels[indices[i]];
        world.AllGather(rows, options);
        if (!host) Device.CopyFrom(rows);
        return _labels.AsSpan(0, n);
    }

    public void Dispose() => Device.Dispose();
}
