using AllReduceNet.Kernels;

namespace AllReduceNet.Training.Model;

/// <summary>
/// Softmax cross-entropy on logits, plus the count of correct predictions. The gradient is scaled by n / B, where n is
/// the local rows and B the global batch, so that summing the ranks' gradients gives the gradient of the mean loss
/// over the global batch, however unevenly the batch was split.
/// </summary>
internal sealed class LossHead : IDisposable
{
    private readonly IKernelBackend _backend;
    private readonly DeviceBuffer<int> _labels;
    private readonly float[] _logits;
    private readonly float[] _gradient;
    private readonly int _classes;

    public LossHead(IKernelBackend backend, int classes, int maxBatch)
    {
        _backend = backend;
        _classes = classes;
        _labels = backend.Allocate<int>(maxBatch);
        _logits = new float[maxBatch * classes];
        _gradient = new float[maxBatch * classes];
        Gradient = backend.Allocate<float>(maxBatch * classes);
    }

    /// <summary>dL/d logits after <see cref="Compute"/>.</summary>
    public DeviceBuffer<float> Gradient { get; }

    /// <summary>Returns the mean loss over the <paramref name="labels"/>.Length rows and how many were predicted right.</summary>
    public (float Loss, int Correct) Compute(DeviceBuffer<float> logits, ReadOnlySpan<int> labels, int globalBatch)
    {
        int n = labels.Length;
        int correct = CountCorrect(logits, labels);
        _labels.CopyFrom(labels);
        float loss = _backend.SoftmaxCrossEntropy(logits, _labels, Gradient, n, _classes);
        if (n != globalBatch) _backend.Scale(Gradient, (float)n / globalBatch);
        return (loss, correct);
    }

    /// <summary>
    /// <see cref="Compute"/> whose gradient is (softmax - onehot) / <paramref name="globalBatch"/> rounded once per
    /// element, so a row's gradient has the same bits whatever rows share the call (ddp --reproducible). Compute's
    /// gradient is scaled by 1 / rows and then by rows / B: two roundings that depend on the rows.
    /// </summary>
    public (float Loss, int Correct) ComputeScaledOnce(DeviceBuffer<float> logits, ReadOnlySpan<int> labels, int globalBatch)
    {
        int n = labels.Length;
        int correct = CountCorrect(logits, labels);
        _labels.CopyFrom(labels);
        float loss = _backend.SoftmaxCrossEntropy(logits, _labels, Gradient, n, _classes);
        _backend.Softmax(logits, Gradient, n, _classes);
        var gradient = _gradient.AsSpan(0, n * _classes);
        Gradient.CopyTo(gradient);
        for (int r = 0; r < n; r++) gradient[r * _classes + labels[r]] -= 1f;
        System.Numerics.Tensors.TensorPrimitives.Divide(gradient, (float)globalBatch, gradient);
        Gradient.CopyFrom(gradient);
        return (loss, correct);
    }

    public int CountCorrect(DeviceBuffer<float> logits, ReadOnlySpan<int> labels)
    {
        var host = _logits.AsSpan(0, labels.Length * _classes);
        logits.CopyTo(host);
        int correct = 0;
        for (int r = 0; r < labels.Length; r++)
        {
            var row = host.Slice(r * _classes, _classes);
            int best = 0;
            for (int c = 1; c < row.Length; c++) if (row[c] > row[best]) best = c;
            if (best == labels[r]) correct++;
        }
        return correct;
    }

    public void Dispose()
    {
        _labels.Dispose();
        Gradient.Dispose();
    }
}
