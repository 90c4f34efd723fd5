namespace AllReduceNet.Kernels;

/// <summary>
/// The differential-privacy kernels: per-row norms and clipping, row sums, Gaussian noise. Each method checks its arguments here, once for every backend (so all
/// backends fail with the same messages), then calls the raw operation below, which each backend implements in its
/// file of this family (Cpu/CpuBackend.*.cs, Ilgpu/IlgpuBackend.*.cs). Every method throws
/// <see cref="ArgumentException"/> for a buffer that is too short or that another backend created, and
/// <see cref="ObjectDisposedException"/> after the backend was disposed.
/// </summary>
public static class PrivacyOps
{
    /// <summary>norms[r] = ||rows[r, :]||_2 for each of <paramref name="rowCount"/> rows of <paramref name="rowLength"/> elements.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="rows">Per-example gradients, rowCount x rowLength.</param>
    /// <param name="rowCount">Number of rows (examples), at least 0.</param>
    /// <param name="rowLength">Elements per row, at least 0.</param>
    /// <param name="norms">Receives rowCount norms.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void RowNorms(this IKernelBackend backend, DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> norms)
    {
        var kernels = KernelBackendBase.Of(backend);
        kernels.Matrix(rows, rowCount, rowLength);
        kernels.AtLeast(norms, rowCount, "rowCount");
        kernels.RowNormsCore(rows, rowCount, rowLength, norms);
    }

    /// <summary>
    /// Clips each row to L2 norm <paramref name="clipNorm"/> in place: rows[r, :] *= min(1, C / ||rows[r, :]||). Rows
    /// above C are scaled by C / ||g|| * (1 - 2^-20), a relative shortfall of 1e-6, so float rounding in the norm cannot
    /// leave a clipped row above C. Rows whose norm is 0 or at most C are unchanged.
    /// </summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="rows">Per-example gradients, rowCount x rowLength; updated in place.</param>
    /// <param name="rowCount">Number of rows.</param>
    /// <param name="rowLength">Elements per row.</param>
    /// <param name="clipNorm">C, finite and positive.</param>
    /// <param name="norms">Receives the norms before clipping (rowCount elements).</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void ClipRows(this IKernelBackend backend, DeviceBuffer<float> rows, int rowCount, int rowLength, float clipNorm, DeviceBuffer<float> norms)
    {
        var kernels = KernelBackendBase.Of(backend);
        kernels.Matrix(rows, rowCount, rowLength);
        kernels.AtLeast(norms, rowCount, "rowCount");
        ThrowHelper.ThrowIfNotPositiveFinite(clipNorm);
        kernels.ClipRowsCore(rows, rowCount, rowLength, clipNorm, norms);
    }

    /// <summary>output[c] = sum over r (in row order) of rows[r, c].</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="rows">rowCount x rowLength.</param>
    /// <param name="rowCount">Number of rows.</param>
    /// <param name="rowLength">Elements per row.</param>
    /// <param name="output">Receives rowLength sums.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void SumRows(this IKernelBackend backend, DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> output)
    {
        var kernels = KernelBackendBase.Of(backend);
        kernels.Matrix(rows, rowCount, rowLength);
        kernels.AtLeast(output, rowLength, "rowLength");
        kernels.SumRowsCore(rows, rowCount, rowLength, output);
    }

    /// <summary>rows[r, :] *= factors[r] for each of <paramref name="rowCount"/> rows: applies per-example clipping
    /// factors computed elsewhere (e.g. from ghost norms, where the per-example gradient is never materialized).</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="rows">rowCount x rowLength; updated in place.</param>
    /// <param name="rowCount">Number of rows.</param>
    /// <param name="rowLength">Elements per row.</param>
    /// <param name="factors">One factor per row (rowCount elements).</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void ScaleRows(this IKernelBackend backend, DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> factors)
    {
        var kernels = KernelBackendBase.Of(backend);
        kernels.Matrix(rows, rowCount, rowLength);
        kernels.AtLeast(factors, rowCount, "rowCount");
        kernels.ScaleRowsCore(rows, rowCount, rowLength, factors);
    }

    /// <summary>The factor <see cref="ClipRows"/> applies to a row of this norm: min(1, C / norm), rows above C pulled
    /// back by a relative 2^-20 so that rounding never leaves a clipped row above C.</summary>
    /// <param name="norm">The row's L2 norm.</param>
    /// <param name="clipNorm">C.</param>
    /// <returns>The scale factor in (0, 1].</returns>
    public static float ClipFactor(float norm, float clipNorm) => ClipMath.Scale(norm, clipNorm);

    /// <summary>buffer[k] += standardDeviation * z_k where z_k is the standard normal number k of the stream of
    /// <paramref name="seed"/>: Box-Muller (<see cref="GaussianTransform"/>) over Philox block k / 4. Use a fresh seed per step.</summary>
    /// <param name="backend">The backend that created the buffers; it runs the kernel.</param>
    /// <param name="buffer">Updated in place.</param>
    /// <param name="standardDeviation">sigma x C for DP-SGD; finite and non-negative.</param>
    /// <param name="seed">Names the noise stream.</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    public static void AddGaussianNoise(this IKernelBackend backend, DeviceBuffer<float> buffer, float standardDeviation, Seed128 seed)
    {
        var kernels = KernelBackendBase.Of(backend);
        int n = kernels.Own(buffer).Length;
        ThrowHelper.ThrowIfNegativeOrNotFinite(standardDeviation);
        kernels.NoiseCore(buffer, n, standardDeviation, seed);
    }
}

/// <summary>The raw operations of <see cref="PrivacyOps"/> that each backend supplies (arguments already checked).</summary>
internal abstract partial class KernelBackendBase
{
    internal abstract void RowNormsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> norms);
    /// <summary>Writes each row's norm to norms, then scales the rows above clipNorm.</summary>
    internal abstract void ClipRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, float clipNorm, DeviceBuffer<float> norms);
    internal abstract void ScaleRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> factors);
    internal abstract void SumRowsCore(DeviceBuffer<float> rows, int rowCount, int rowLength, DeviceBuffer<float> output);
    internal abstract void NoiseCore(DeviceBuffer<float> buffer, int n, float standardDeviation, Seed128 seed);
}
