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
        _host = new float[maxBatch * data.Features];
        _labels = new int[maxBatch];
        Device = backend.Allocate<float>(maxBatch * data.Features);
    }

    public DeviceBuffer<float> Device { get; }

    /// <summary>Loads the samples into <see cref="Device"/>; returns their labels.</summary>
    public ReadOnlySpan<int> Load(ReadOnlySpan<int> indices)
    {
        int n = indices.Length;
        _data.Gather(indices, _host.AsSpan(0, n * _data.Features), _labels.AsSpan(0, n));
        Device.CopyFrom(_host.AsSpan(0, n * _data.Features));
        return _labels.AsSpan(0, n);
    }

    public void Dispose() => Device.Dispose();
}
