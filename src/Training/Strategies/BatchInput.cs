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
        var rows = Rows(n, out bool staged);
        _data.Gather(indices, rows, _labels.AsSpan(0, n));
        if (staged) Device.CopyFrom(rows);
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
        var rows = Rows(n, out bool staged);
        _data.Gather(indices.Slice(first, share), rows.Slice(first * features, share * features), _labels.AsSpan(first, share));
        for (int i = 0; i < n; i++) _labels[i] = _data.Labels[indices[i]];
        world.AllGather(rows, options);
        if (staged) Device.CopyFrom(rows);
        return _labels.AsSpan(0, n);
    }

    /// <summary>Where <paramref name="n"/> rows are gathered: the CPU backend's buffer itself (host memory, so no second
    /// copy), else the host staging array, which the caller then copies to the device (<paramref name="staged"/>).</summary>
    private Span<float> Rows(int n, out bool staged)
    {
        staged = !Device.TryGetHostMemory(out var device);
        return staged ? _host.AsSpan(0, n * _data.Features) : device.Span[..(n * _data.Features)];
    }

    public void Dispose() => Device.Dispose();
}
