namespace AllReduceNet.Kernels;

/// <summary>
/// What both backends share: every argument check (so CPU and ILGPU fail with the same messages) and the operations
/// that are compositions of kernels (dense layers, sums of many buffers). Each backend supplies the kernels.
/// </summary>
internal abstract class KernelBackendBase : IKernelBackend
{
    private bool _disposed;

    public abstract string Name { get; }

    public DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.ThrowIfNegative(length);
        return AllocateCore<T>(length);
    }

    public abstract void Synchronize();

    public TransferCounter Transfers { get; } = new();

    public void SgdStep(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> momentum, SgdOptions options)
    {
        int n = Own(parameters).Length;
        AtLeast(gradients, n, "parameters.Length");
        AtLeast(momentum, n, "parameters.Length");
        options.Validate();
        SgdCore(parameters, gradients, momentum, n, options);
    }

    public void AdamStep(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int step, AdamOptions options)
    {
        int n = Own(parameters).Length;
        AtLeast(gradients, n, "parameters.Length");
        AtLeast(firstMoment, n, "parameters.Length");
        AtLeast(secondMoment, n, "parameters.Length");
        ThrowHelper.ThrowIfNotPositive(step);
        options.Validate();
        // Bias corrections in double: beta^t underflows gracefully and 1 - beta^t stays accurate for small t.
        double bc1 = 1.0 - Math.Pow(options.Beta1, step);
        double bc2 = 1.0 - Math.Pow(options.Beta2, step);
        var p = new AdamScalars
        {
            Beta1 = options.Beta1,
            OneMinusBeta1 = 1f - options.Beta1,
            Beta2 = options.Beta2,
            OneMinusBeta2 = 1f - options.Beta2,
            StepSize = (float)(options.LearningRate / bc1),
            InvSqrtBc2 = (float)(1.0 / Math.Sqrt(bc2)),
            Epsilon = options.Epsilon,
            L2 = options.DecoupledWeightDecay ? 0f : options.WeightDecay,
            Decay = options.DecoupledWeightDecay ? 1f - options.LearningRate * options.WeightDecay : 1f,
        };
        AdamCore(parameters, gradients, firstMoment, secondMoment, n, p);
    }

    public void Add(DeviceBuffer<float> accumulator, DeviceBuffer<float> addend)
    {
        int n = Own(accumulator).Length;
        AtLeast(addend, n, "accumulator.Length");
        AddCore(accumulator, 0, addend, 0, n);
    }

    public void Add(DeviceBuffer<float> accumulator, int accumulatorOffset, DeviceBuffer<float> addend, int addendOffset, int count)
    {
        Slice(accumulator, accumulatorOffset, count);
        Slice(addend, addendOffset, count);
        AddCore(accumulator, accumulatorOffset, addend, addendOffset, count);
    }

    public void Scale(DeviceBuffer<float> buffer, int offset, int count, float factor)
    {
        Slice(buffer, offset, count);
        ScaleCore(buffer, offset, count, factor);
    }

    public void Copy(DeviceBuffer<float> source, int sourceOffset, DeviceBuffer<float> destination, int destinationOffset, int count)
    {
        Slice(source, sourceOffset, count);
        Slice(destination, destinationOffset, count);
        if (ReferenceEquals(source, destination) && count > 0 && sourceOffset < destinationOffset + count && destinationOffset < sourceOffset + count)
            ThrowHelper.ThrowArgument(nameof(destination), $"destination slice [{destinationOffset}, {destinationOffset + count}) overlaps source slice [{sourceOffset}, {sourceOffset + count}) of the same buffer.");
        CopyCore(source, sourceOffset, destination, destinationOffset, count);
    }

    public void Scale(DeviceBuffer<float> buffer, float factor)
    {
        int n = Own(buffer).Length;
        ScaleCore(buffer, 0, n, factor);
    }

    public void Sum(IReadOnlyList<DeviceBuffer<float>> inputs, DeviceBuffer<float> output)
    {
        int n = Own(output).Length;
        ThrowHelper.ThrowIfNull(inputs);
        if (inputs.Count == 0) ThrowHelper.ThrowArgument(nameof(inputs), "inputs must hold at least one buffer, but was empty.");
        for (int i = 0; i < inputs.Count; i++)
        {
            AtLeast(inputs[i], n, "output.Length", $"inputs[{i}]");
            if (i > 0 && ReferenceEquals(inputs[i], output))
                ThrowHelper.ThrowArgument(nameof(output), $"output is inputs[{i}]; it may only alias inputs[0].");
        }
        if (!ReferenceEquals(inputs[0], output)) CopyCore(inputs[0], 0, output, 0, n);
        for (int i = 1; i < inputs.Count; i++) AddCore(output, 0, inputs[i], 0, n);
    }

    public void Average(IReadOnlyList<DeviceBuffer<float>> inputs, DeviceBuffer<float> output)
    {
        Sum(inputs, output);
        ScaleCore(output, 0, output.Length, 1f / inputs.Count);
    }

    public void QuantizeAndMask(DeviceBuffer<float> update, DeviceBuffer<int> masked, int clientIndex, ReadOnlySpan<Seed128> pairSeeds, FixedPointFormat format)
    {
        int n = Own(update).Length;
        AtLeast(masked, n, "update.Length");
        format.Validate();
        if (pairSeeds.Length == 0) ThrowHelper.ThrowArgument(nameof(pairSeeds), "pairSeeds must hold one entry per client, but was empty.");
        ThrowHelper.ThrowIfOutside(clientIndex, 0, pairSeeds.Length - 1);
        if (pairSeeds.Length > format.MaxClients)
            ThrowHelper.ThrowOutOfRange(nameof(pairSeeds), pairSeeds.Length,
                $"pairSeeds.Length = {pairSeeds.Length} clients exceeds format.MaxClients = {format.MaxClients}: the sum could overflow.");
        var peers = new MaskPeer[pairSeeds.Length - 1];
        for (int j = 0, p = 0; j < pairSeeds.Length; j++)
        {
            if (j == clientIndex) continue;
            // Client i adds +PRG(s_ij) for j > i and -PRG(s_ij) for j < i, so each pair's two terms cancel.
            peers[p++] = new MaskPeer { Seed = pairSeeds[j], Sign = j > clientIndex ? 1 : -1 };
        }
        QuantizeAndMaskCore(update, masked, n, peers, format.ClipRange, format.Scale);
    }

    public void AddWrapping(DeviceBuffer<int> accumulator, DeviceBuffer<int> addend)
    {
        int n = Own(accumulator).Length;
        AtLeast(addend, n, "accumulator.Length");
        AddWrappingCore(accumulator, addend, n);
    }

    public void Dequantize(DeviceBuffer<int> sum, DeviceBuffer<float> output, FixedPointFormat format)
    {
        int n = Own(output).Length;
        AtLeast(sum, n, "output.Length");
        format.Validate();
        DequantizeCore(sum, output, n, format.Scale);
    }

    public void RowNorms(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> norms)
    {
        Matrix(rows, rowCount, rowLength);
        AtLeast(norms, rowCount, "rowCount");
        RowNormsCore(rows, rowCount, rowLength, norms);
    }

    public void ClipRows(DeviceBuffer<float> rows, int rowCount, int rowLength, float clipNorm, DeviceBuffer<float> norms)
    {
        Matrix(rows, rowCount, rowLength);
        AtLeast(norms, rowCount, "rowCount");
        ThrowHelper.ThrowIfNotPositiveFinite(clipNorm);
        ClipRowsCore(rows, rowCount, rowLength, clipNorm, norms);
    }

    public void SumRows(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> output)
    {
        Matrix(rows, rowCount, rowLength);
        AtLeast(output, rowLength, "rowLength");
        SumRowsCore(rows, rowCount, rowLength, output);
    }

    public void AddGaussianNoise(DeviceBuffer<float> buffer, float standardDeviation, Seed128 seed)
    {
        int n = Own(buffer).Length;
        ThrowHelper.ThrowIfNegativeOrNotFinite(standardDeviation);
        NoiseCore(buffer, n, standardDeviation, seed);
    }

    public void MatMul(DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> c, int m, int k, int n, bool transposeA = false, bool transposeB = false)
    {
        ThrowHelper.ThrowIfNegative(m);
        ThrowHelper.ThrowIfNegative(k);
        ThrowHelper.ThrowIfNegative(n);
        AtLeast(a, ThrowHelper.CheckedElements(m, k, nameof(m), nameof(k)), "m * k");
        AtLeast(b, ThrowHelper.CheckedElements(k, n, nameof(k), nameof(n)), "k * n");
        AtLeast(c, ThrowHelper.CheckedElements(m, n, nameof(m), nameof(n)), "m * n");
        MatMulCore(a, b, c, m, k, n, transposeA, transposeB);
    }

    public void DenseForward(DeviceBuffer<float> input, DeviceBuffer<float> weights, DeviceBuffer<float> bias, DeviceBuffer<float> output,
        int batch, int inFeatures, int outFeatures, bool relu)
    {
        Layer(batch, inFeatures, outFeatures);
        AtLeast(input, (long)batch * inFeatures, "batch * inFeatures");
        AtLeast(weights, (long)inFeatures * outFeatures, "inFeatures * outFeatures");
        AtLeast(bias, outFeatures, "outFeatures");
        AtLeast(output, (long)batch * outFeatures, "batch * outFeatures");
        MatMulCore(input, weights, output, batch, inFeatures, outFeatures, false, false);
        BiasActivationCore(output, bias, batch, outFeatures, relu);
    }

    public void DenseBackward(DeviceBuffer<float> input, DeviceBuffer<float> weights, DeviceBuffer<float> output, DeviceBuffer<float> outputGradient,
        DeviceBuffer<float>? inputGradient, DeviceBuffer<float> weightGradient, DeviceBuffer<float> biasGradient,
        int batch, int inFeatures, int outFeatures, bool relu)
    {
        Layer(batch, inFeatures, outFeatures);
        AtLeast(input, (long)batch * inFeatures, "batch * inFeatures");
        AtLeast(weights, (long)inFeatures * outFeatures, "inFeatures * outFeatures");
        AtLeast(outputGradient, (long)batch * outFeatures, "batch * outFeatures");
        if (relu) AtLeast(output, (long)batch * outFeatures, "batch * outFeatures");
        if (inputGradient is not null) AtLeast(inputGradient, (long)batch * inFeatures, "batch * inFeatures");
        AtLeast(weightGradient, (long)inFeatures * outFeatures, "inFeatures * outFeatures");
        AtLeast(biasGradient, outFeatures, "outFeatures");
        if (relu) ReluBackwardCore(output, outputGradient, batch * outFeatures);
        // dW = X^T dz, dX = dz W^T, db = column sums of dz.
        MatMulCore(input, outputGradient, weightGradient, inFeatures, batch, outFeatures, true, false);
        if (inputGradient is not null)
            MatMulCore(outputGradient, weights, inputGradient, batch, outFeatures, inFeatures, false, true);
        SumRowsCore(outputGradient, batch, outFeatures, biasGradient);
    }

    public void Softmax(DeviceBuffer<float> logits, DeviceBuffer<float> probabilities, int batch, int classes)
    {
        ThrowHelper.ThrowIfNegative(batch);
        ThrowHelper.ThrowIfNotPositive(classes);
        long total = ThrowHelper.CheckedElements(batch, classes, nameof(batch), nameof(classes));
        AtLeast(logits, total, "batch * classes");
        AtLeast(probabilities, total, "batch * classes");
        SoftmaxCore(logits, probabilities, batch, classes);
    }

    public float SoftmaxCrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<int> labels, DeviceBuffer<float> logitsGradient, int batch, int classes)
    {
        ThrowHelper.ThrowIfNotPositive(batch);
        ThrowHelper.ThrowIfNotPositive(classes);
        long total = ThrowHelper.CheckedElements(batch, classes, nameof(batch), nameof(classes));
        AtLeast(logits, total, "batch * classes");
        AtLeast(labels, batch, "batch");
        AtLeast(logitsGradient, total, "batch * classes");
        var hostLabels = new int[batch];
        labels.CopyTo(hostLabels);
        for (int r = 0; r < batch; r++)
        {
            if ((uint)hostLabels[r] >= (uint)classes)
                ThrowHelper.ThrowOutOfRange(nameof(labels), hostLabels[r], $"labels[{r}] = {hostLabels[r]} is outside [0, {classes}).");
        }
        var rowLoss = new float[batch];
        SoftmaxCrossEntropyCore(logits, labels, logitsGradient, rowLoss, batch, classes);
        // Host sum in row order and in double: deterministic and exact enough.
        double sum = 0;
        for (int r = 0; r < batch; r++) sum += rowLoss[r];
        return (float)(sum / batch);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DisposeCore();
    }

    // ---- Kernels each backend supplies (arguments already checked) -------------------------------------------------

    protected abstract DeviceBuffer<T> AllocateCore<T>(int length) where T : unmanaged;
    protected abstract void SgdCore(DeviceBuffer<float> p, DeviceBuffer<float> g, DeviceBuffer<float> v, int n, SgdOptions o);
    protected abstract void AdamCore(DeviceBuffer<float> p, DeviceBuffer<float> g, DeviceBuffer<float> m, DeviceBuffer<float> v, int n, AdamScalars s);
    protected abstract void CopyCore(DeviceBuffer<float> source, int sourceOffset, DeviceBuffer<float> destination, int destinationOffset, int n);
    protected abstract void AddCore(DeviceBuffer<float> accumulator, int accumulatorOffset, DeviceBuffer<float> addend, int addendOffset, int n);
    protected abstract void ScaleCore(DeviceBuffer<float> buffer, int offset, int n, float factor);
    protected abstract void QuantizeAndMaskCore(DeviceBuffer<float> update, DeviceBuffer<int> masked, int n, MaskPeer[] peers, float clip, float scale);
    protected abstract void AddWrappingCore(DeviceBuffer<int> accumulator, DeviceBuffer<int> addend, int n);
    protected abstract void DequantizeCore(DeviceBuffer<int> sum, DeviceBuffer<float> output, int n, float scale);
    protected abstract void RowNormsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> norms);
    /// <summary>Writes each row's norm to norms, then scales the rows above clipNorm.</summary>
    protected abstract void ClipRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, float clipNorm, DeviceBuffer<float> norms);
    protected abstract void SumRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> output);
    protected abstract void NoiseCore(DeviceBuffer<float> buffer, int n, float standardDeviation, Seed128 seed);
    protected abstract void MatMulCore(DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> c, int m, int k, int n, bool transposeA, bool transposeB);
    protected abstract void BiasActivationCore(DeviceBuffer<float> output, DeviceBuffer<float> bias, int rows, int columns, bool relu);
    protected abstract void ReluBackwardCore(DeviceBuffer<float> output, DeviceBuffer<float> gradient, int n);
    protected abstract void SoftmaxCore(DeviceBuffer<float> logits, DeviceBuffer<float> probabilities, int rows, int classes);
    protected abstract void SoftmaxCrossEntropyCore(DeviceBuffer<float> logits, DeviceBuffer<int> labels, DeviceBuffer<float> gradient, float[] rowLoss, int rows, int classes);
    protected abstract void DisposeCore();

    /// <summary>True when this backend created the buffer (each backend recognises its own buffer type).</summary>
    protected abstract bool Owns<T>(DeviceBuffer<T> buffer) where T : unmanaged;

    // ---- Checks -------------------------------------------------------------------------------------------------------

    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private DeviceBuffer<T> Own<T>(DeviceBuffer<T> buffer, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(buffer))] string? name = null) where T : unmanaged
    {
        ThrowIfDisposed();
        ThrowHelper.ThrowIfNull(buffer, name);
        if (!Owns(buffer))
            ThrowHelper.ThrowArgument(name!, $"{name} was created by backend '{buffer.Backend.Name}', not by this '{Name}' backend.");
        return buffer;
    }

    private void AtLeast<T>(DeviceBuffer<T> buffer, long required, string expectation,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(buffer))] string? name = null) where T : unmanaged
    {
        Own(buffer, name);
        ThrowHelper.ThrowIfTooShort(buffer.Length, required, name!, expectation);
    }

    private void Slice<T>(DeviceBuffer<T> buffer, int offset, int count, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(buffer))] string? name = null) where T : unmanaged
    {
        Own(buffer, name);
        ThrowHelper.ThrowIfNegative(offset);
        ThrowHelper.ThrowIfNegative(count);
        if ((long)offset + count > buffer.Length)
            ThrowHelper.ThrowOutOfRange(name!, offset, $"{name} slice [{offset}, {(long)offset + count}) runs past its length {buffer.Length}.");
    }

    private long Matrix(DeviceBuffer<float> rows, int rowCount, int rowLength, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(rows))] string? name = null)
    {
        ThrowHelper.ThrowIfNegative(rowCount);
        ThrowHelper.ThrowIfNegative(rowLength);
        long total = ThrowHelper.CheckedElements(rowCount, rowLength, nameof(rowCount), nameof(rowLength));
        AtLeast(rows, total, "rowCount * rowLength", name);
        return total;
    }

    private static void Layer(int batch, int inFeatures, int outFeatures)
    {
        ThrowHelper.ThrowIfNegative(batch);
        ThrowHelper.ThrowIfNotPositive(inFeatures);
        ThrowHelper.ThrowIfNotPositive(outFeatures);
        ThrowHelper.CheckedElements(batch, inFeatures, nameof(batch), nameof(inFeatures));
        ThrowHelper.CheckedElements(batch, outFeatures, nameof(batch), nameof(outFeatures));
        ThrowHelper.CheckedElements(inFeatures, outFeatures, nameof(inFeatures), nameof(outFeatures));
    }
}
