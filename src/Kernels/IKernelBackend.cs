namespace AllReduceNet.Kernels;

/// <summary>
/// One compute backend: buffers plus the kernels of AllReduceNet. Created by <see cref="KernelBackends.Create(string)"/>.
/// <para>
/// Layouts are row-major: a matrix of r rows and c columns occupies r*c consecutive elements, row after row. Dense layer
/// weights are stored [inFeatures, outFeatures] so a layer computes y = x W + b. All lengths are element counts; a
/// buffer may be longer than an operation needs, and only its first elements are used.
/// </para>
/// <para>
/// Calls are asynchronous on an accelerator and ordered on its one stream; <see cref="DeviceBuffer{T}.CopyTo(Span{T})"/> and any
/// method that returns a host value wait for the work before them. A backend is not thread-safe: call it from one
/// thread at a time. Every method throws <see cref="ArgumentNullException"/> for a null buffer,
/// <see cref="ArgumentException"/> for a buffer that is too short or that another backend created, and
/// <see cref="ObjectDisposedException"/> after <see cref="IDisposable.Dispose"/>.
/// </para>
/// </summary>
public interface IKernelBackend : IDisposable
{
    /// <summary>"cpu", "ilgpu-cpu" or "cuda".</summary>
    string Name { get; }

    /// <summary>Allocates a zeroed buffer.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="length">Element count, at least 0.</param>
    /// <returns>A buffer owned by this backend.</returns>
    /// <exception cref="ArgumentOutOfRangeException">length is negative.</exception>
    DeviceBuffer<T> Allocate<T>(int length) where T : unmanaged;

    /// <summary>Waits until all submitted work has finished.</summary>
    void Synchronize();

    /// <summary>The copies between host memory and this backend's buffers so far.</summary>
    TransferCounter Transfers { get; }

    // ---- Optimizers -------------------------------------------------------------------------------------------------

    /// <summary>One SGD step over n = parameters.Length elements, updating <paramref name="parameters"/> and
    /// <paramref name="momentum"/> in place (formula in <see cref="SgdOptions"/>).</summary>
    /// <param name="parameters">Weights p, length n.</param>
    /// <param name="gradients">Gradients g, at least n.</param>
    /// <param name="momentum">Momentum buffer v, at least n; zero before the first step.</param>
    /// <param name="options">Hyper-parameters.</param>
    void SgdStep(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> momentum, SgdOptions options);

    /// <summary>One Adam or AdamW step over n = parameters.Length elements with bias correction for step
    /// <paramref name="step"/> (formula in <see cref="AdamOptions"/>).</summary>
    /// <param name="parameters">Weights p, length n.</param>
    /// <param name="gradients">Gradients g, at least n.</param>
    /// <param name="firstMoment">m, at least n; zero before step 1.</param>
    /// <param name="secondMoment">v, at least n; zero before step 1.</param>
    /// <param name="step">1-based step number t.</param>
    /// <param name="options">Hyper-parameters.</param>
    /// <exception cref="ArgumentOutOfRangeException">step is less than 1.</exception>
    void AdamStep(DeviceBuffer<float> parameters, DeviceBuffer<float> gradients, DeviceBuffer<float> firstMoment,
        DeviceBuffer<float> secondMoment, int step, AdamOptions options);

    // ---- Reductions (what a device-resident AllReduce needs) --------------------------------------------------------

    /// <summary>accumulator[i] += addend[i] for i &lt; accumulator.Length.</summary>
    /// <param name="accumulator">Updated in place.</param>
    /// <param name="addend">At least accumulator.Length elements.</param>
    void Add(DeviceBuffer<float> accumulator, DeviceBuffer<float> addend);

    /// <summary>buffer[i] *= factor.</summary>
    /// <param name="buffer">Updated in place.</param>
    /// <param name="factor">Any float.</param>
    void Scale(DeviceBuffer<float> buffer, float factor);

    /// <summary>accumulator[accumulatorOffset + i] += addend[addendOffset + i] for i &lt; count: reduces one received
    /// segment into a slice of a device-resident buffer, the step a ring AllReduce repeats.</summary>
    /// <param name="accumulator">Updated in place.</param>
    /// <param name="accumulatorOffset">First element of the accumulator slice.</param>
    /// <param name="addend">The values to add.</param>
    /// <param name="addendOffset">First element of the addend slice.</param>
    /// <param name="count">Elements, at least 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">An offset or count is negative, or a slice runs past its buffer.</exception>
    void Add(DeviceBuffer<float> accumulator, int accumulatorOffset, DeviceBuffer<float> addend, int addendOffset, int count);

    /// <summary>buffer[offset + i] *= factor for i &lt; count (for instance 1/N on one chunk after a reduce-scatter).</summary>
    /// <param name="buffer">Updated in place.</param>
    /// <param name="offset">First element of the slice.</param>
    /// <param name="count">Elements, at least 0.</param>
    /// <param name="factor">Any float.</param>
    /// <exception cref="ArgumentOutOfRangeException">offset or count is negative, or the slice runs past the buffer.</exception>
    void Scale(DeviceBuffer<float> buffer, int offset, int count, float factor);

    /// <summary>destination[destinationOffset + i] = source[sourceOffset + i] for i &lt; count, on the device.</summary>
    /// <param name="source">Read.</param>
    /// <param name="sourceOffset">First element of the source slice.</param>
    /// <param name="destination">Written; may be the source buffer only if the slices do not overlap.</param>
    /// <param name="destinationOffset">First element of the destination slice.</param>
    /// <param name="count">Elements, at least 0.</param>
    /// <exception cref="ArgumentOutOfRangeException">An offset or count is negative, or a slice runs past its buffer.</exception>
    /// <exception cref="ArgumentException">The slices are in the same buffer and overlap.</exception>
    void Copy(DeviceBuffer<float> source, int sourceOffset, DeviceBuffer<float> destination, int destinationOffset, int count);

    /// <summary>output[i] = ((inputs[0][i] + inputs[1][i]) + inputs[2][i]) + ... in that fixed order, for i &lt; output.Length,
    /// so the result is the same on every backend that rounds alike.</summary>
    /// <param name="inputs">One or more buffers, each at least output.Length long; output may be one of them only if it is inputs[0].</param>
    /// <param name="output">Receives the sum.</param>
    /// <exception cref="ArgumentException">inputs is empty.</exception>
    void Sum(IReadOnlyList<DeviceBuffer<float>> inputs, DeviceBuffer<float> output);

    /// <summary>The <see cref="Sum"/> of the inputs, then scaled by 1 / inputs.Count.</summary>
    /// <param name="inputs">One or more buffers, each at least output.Length long.</param>
    /// <param name="output">Receives the mean.</param>
    /// <exception cref="ArgumentException">inputs is empty.</exception>
    void Average(IReadOnlyList<DeviceBuffer<float>> inputs, DeviceBuffer<float> output);

    // ---- Masked aggregation (Bonawitz et al. 2017) ------------------------------------------------------------------

    /// <summary>
    /// Client <paramref name="clientIndex"/>'s masked update: for k &lt; update.Length,
    /// masked[k] = Q(update[k]) + sum over j &gt; i of PRG(s_ij)[k] - sum over j &lt; i of PRG(s_ij)[k], modulo 2^32, where Q is
    /// the quantization of <paramref name="format"/> and PRG(s)[k] is word k of the Philox stream of s
    /// (<see cref="Philox4x32.StreamBlock"/>: lane k % 4 of block k / 4). Summed over all clients the masks cancel exactly.
    /// With a single client (pairSeeds.Length 1) this is plain quantization.
    /// </summary>
    /// <param name="update">The client's float update, length n.</param>
    /// <param name="masked">Receives n masked integers.</param>
    /// <param name="clientIndex">i, in [0, pairSeeds.Length).</param>
    /// <param name="pairSeeds">pairSeeds[j] = s_ij, the seed client i shares with client j (s_ij = s_ji); entry i is ignored. Its length is the number of clients.</param>
    /// <param name="format">Quantization scale and clipping range.</param>
    /// <exception cref="ArgumentOutOfRangeException">clientIndex is out of range, or there are more clients than format.MaxClients.</exception>
    void QuantizeAndMask(DeviceBuffer<float> update, DeviceBuffer<int> masked, int clientIndex, ReadOnlySpan<Seed128> pairSeeds, FixedPointFormat format);

    /// <summary>accumulator[i] += addend[i] modulo 2^32 (two's-complement wrap-around), for i &lt; accumulator.Length.</summary>
    /// <param name="accumulator">Updated in place.</param>
    /// <param name="addend">At least accumulator.Length elements.</param>
    void AddWrapping(DeviceBuffer<int> accumulator, DeviceBuffer<int> addend);

    /// <summary>output[i] = sum[i] / format.Scale (the server's last step), for i &lt; output.Length.</summary>
    /// <param name="sum">Wrapped sum of all clients' masked updates.</param>
    /// <param name="output">Receives the float sum.</param>
    /// <param name="format">The format the clients used.</param>
    void Dequantize(DeviceBuffer<int> sum, DeviceBuffer<float> output, FixedPointFormat format);

    // ---- Differential privacy ---------------------------------------------------------------------------------------

    /// <summary>norms[r] = ||rows[r, :]||_2 for each of <paramref name="rowCount"/> rows of <paramref name="rowLength"/> elements.</summary>
    /// <param name="rows">Per-example gradients, rowCount x rowLength.</param>
    /// <param name="rowCount">Number of rows (examples), at least 0.</param>
    /// <param name="rowLength">Elements per row, at least 0.</param>
    /// <param name="norms">Receives rowCount norms.</param>
    void RowNorms(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> norms);

    /// <summary>
    /// Clips each row to L2 norm <paramref name="clipNorm"/> in place: rows[r, :] *= min(1, C / ||rows[r, :]||). Rows
    /// above C are scaled by C / ||g|| * (1 - 2^-20), a relative shortfall of 1e-6, so float rounding in the norm cannot
    /// leave a clipped row above C. Rows whose norm is 0 or at most C are unchanged.
    /// </summary>
    /// <param name="rows">Per-example gradients, rowCount x rowLength; updated in place.</param>
    /// <param name="rowCount">Number of rows.</param>
    /// <param name="rowLength">Elements per row.</param>
    /// <param name="clipNorm">C, finite and positive.</param>
    /// <param name="norms">Receives the norms before clipping (rowCount elements).</param>
    void ClipRows(DeviceBuffer<float> rows, int rowCount, int rowLength, float clipNorm, DeviceBuffer<float> norms);

    /// <summary>output[c] = sum over r (in row order) of rows[r, c].</summary>
    /// <param name="rows">rowCount x rowLength.</param>
    /// <param name="rowCount">Number of rows.</param>
    /// <param name="rowLength">Elements per row.</param>
    /// <param name="output">Receives rowLength sums.</param>
    void SumRows(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> output);

    /// <summary>buffer[k] += standardDeviation * z_k where z_k is the standard normal number k of the stream of
    /// <paramref name="seed"/>: Box-Muller (<see cref="GaussianTransform"/>) over Philox block k / 4. Use a fresh seed per step.</summary>
    /// <param name="buffer">Updated in place.</param>
    /// <param name="standardDeviation">sigma x C for DP-SGD; finite and non-negative.</param>
    /// <param name="seed">Names the noise stream.</param>
    void AddGaussianNoise(DeviceBuffer<float> buffer, float standardDeviation, Seed128 seed);

    // ---- Dense layers -----------------------------------------------------------------------------------------------

    /// <summary>C = op(A) op(B), C overwritten, where op(A) is m x k and op(B) is k x n. A is stored m x k, or k x m when
    /// <paramref name="transposeA"/>; B is stored k x n, or n x k when <paramref name="transposeB"/>.</summary>
    /// <param name="a">Matrix A.</param>
    /// <param name="b">Matrix B.</param>
    /// <param name="c">Receives the m x n product.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="transposeA">A is stored transposed.</param>
    /// <param name="transposeB">B is stored transposed.</param>
    void MatMul(DeviceBuffer<float> a, DeviceBuffer<float> b, DeviceBuffer<float> c, int m, int k, int n, bool transposeA = false, bool transposeB = false);

    /// <summary>output = input W + bias (broadcast over rows), then max(0, .) when <paramref name="relu"/>.</summary>
    /// <param name="input">batch x inFeatures.</param>
    /// <param name="weights">inFeatures x outFeatures.</param>
    /// <param name="bias">outFeatures.</param>
    /// <param name="output">Receives batch x outFeatures.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="relu">Apply ReLU.</param>
    void DenseForward(DeviceBuffer<float> input, DeviceBuffer<float> weights, DeviceBuffer<float> bias, DeviceBuffer<float> output,
        int batch, int inFeatures, int outFeatures, bool relu);

    /// <summary>
    /// Gradients of <see cref="DenseForward"/>. With dz = outputGradient ⊙ [output &gt; 0] when <paramref name="relu"/>
    /// (else dz = outputGradient): inputGradient = dz Wᵀ, weightGradient = inputᵀ dz, biasGradient = column sums of dz.
    /// Gradients are overwritten, not accumulated. When relu is true, <paramref name="outputGradient"/> is overwritten by dz.
    /// </summary>
    /// <param name="input">The forward input, batch x inFeatures.</param>
    /// <param name="weights">inFeatures x outFeatures.</param>
    /// <param name="output">The forward output (after ReLU), batch x outFeatures; read only when relu.</param>
    /// <param name="outputGradient">dL/d(output), batch x outFeatures.</param>
    /// <param name="inputGradient">Receives dL/d(input), batch x inFeatures; null to skip (first layer).</param>
    /// <param name="weightGradient">Receives dL/dW, inFeatures x outFeatures.</param>
    /// <param name="biasGradient">Receives dL/db, outFeatures.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="relu">The forward pass applied ReLU.</param>
    void DenseBackward(DeviceBuffer<float> input, DeviceBuffer<float> weights, DeviceBuffer<float> output, DeviceBuffer<float> outputGradient,
        DeviceBuffer<float>? inputGradient, DeviceBuffer<float> weightGradient, DeviceBuffer<float> biasGradient,
        int batch, int inFeatures, int outFeatures, bool relu);

    /// <summary>Row-wise softmax, computed stably (max subtracted first).</summary>
    /// <param name="logits">batch x classes.</param>
    /// <param name="probabilities">Receives batch x classes.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="classes">Columns, at least 1.</param>
    void Softmax(DeviceBuffer<float> logits, DeviceBuffer<float> probabilities, int batch, int classes);

    /// <summary>
    /// Mean softmax cross-entropy loss, forward and backward: returns (1/batch) * sum over r of -log softmax(logits[r])[labels[r]],
    /// and writes logitsGradient = (softmax(logits) - onehot(labels)) / batch.
    /// </summary>
    /// <param name="logits">batch x classes.</param>
    /// <param name="labels">batch class indices, each in [0, classes).</param>
    /// <param name="logitsGradient">Receives dLoss/dLogits, batch x classes; may be the logits buffer itself.</param>
    /// <param name="batch">Rows, at least 1.</param>
    /// <param name="classes">Columns, at least 1.</param>
    /// <returns>The mean loss.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes).</exception>
    float SoftmaxCrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<int> labels, DeviceBuffer<float> logitsGradient, int batch, int classes);
}
