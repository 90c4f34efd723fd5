using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Model;

/// <summary>
/// The per-batch buffers of one pass through an <see cref="Mlp"/>: each layer's output and the gradient with respect
/// to it, sized for up to <see cref="MaxBatch"/> rows. GPipe keeps one set per micro-batch in flight.
/// </summary>
internal sealed class Activations : IDisposable
{
    public Activations(IKernelBackend backend, IReadOnlyList<int> sizes, int maxBatch)
    {
        MaxBatch = maxBatch;
        Outputs = new DeviceBuffer<float>[sizes.Count - 1];
        Gradients = new DeviceBuffer<float>[sizes.Count - 1];
        for (int l = 0; l < Outputs.Length; l++)
        {
            Outputs[l] = backend.Allocate<float>(maxBatch * sizes[l + 1]);
            Gradients[l] = backend.Allocate<float>(maxBatch * sizes[l + 1]);
        }
    }

    public int MaxBatch { get; }
    public DeviceBuffer<float>[] Outputs { get; }
    public DeviceBuffer<float>[] Gradients { get; }

    public void Dispose()
    {
        foreach (var b in Outputs) b.Dispose();
        foreach (var b in Gradients) b.Dispose();
    }
}
