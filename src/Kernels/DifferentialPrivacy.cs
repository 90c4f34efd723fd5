namespace AllReduceNet.Kernels;

/// <summary>The DP-SGD gradient pipeline (Abadi et al. 2016), composed from the backend's kernels.</summary>
public static class DifferentialPrivacy
{
    /// <summary>
    /// Privatizes one batch of per-example gradients: clips each row to L2 norm C in place
    /// (<see cref="PrivacyOps.ClipRows"/>), sums the rows, adds Gaussian noise of standard deviation
    /// noiseMultiplier x C from the Philox stream of <paramref name="seed"/>, and divides by the batch size:
    /// output = (sum_r clip(g_r) + N(0, (sigma C)^2 I)) / batch.
    /// </summary>
    /// <param name="backend">The backend that owns the buffers.</param>
    /// <param name="perExampleGradients">batch x dim, row-major; clipped in place.</param>
    /// <param name="batch">Examples, at least 1.</param>
    /// <param name="dim">Parameters per example, at least 1.</param>
    /// <param name="clipNorm">C, finite and positive.</param>
    /// <param name="noiseMultiplier">sigma, finite and non-negative.</param>
    /// <param name="seed">Names the noise stream; must be fresh for every step.</param>
    /// <param name="output">Receives the privatized mean gradient; its length must be exactly dim.</param>
    /// <param name="norms">Receives the per-example norms before clipping (batch elements).</param>
    /// <exception cref="ArgumentNullException">backend or a buffer is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">batch, dim, clipNorm or noiseMultiplier is out of range.</exception>
    /// <exception cref="ArgumentException">A buffer is too short, output.Length differs from dim, or a buffer belongs to another backend.</exception>
    public static void PrivatizeGradients(this IKernelBackend backend, DeviceBuffer<float> perExampleGradients, int batch, int dim,
        float clipNorm, float noiseMultiplier, Seed128 seed, DeviceBuffer<float> output, DeviceBuffer<float> norms)
    {
        ThrowHelper.ThrowIfNull(backend);
        ThrowHelper.ThrowIfNull(output);
        ThrowHelper.ThrowIfNotPositive(batch);
        ThrowHelper.ThrowIfNotPositive(dim);
        ThrowHelper.ThrowIfNotPositiveFinite(clipNorm);
        ThrowHelper.ThrowIfNegativeOrNotFinite(noiseMultiplier);
        ThrowHelper.ThrowIfLengthMismatch(output.Length, dim, nameof(output), "dim");
        backend.ClipRows(perExampleGradients, batch, dim, clipNorm, norms);
        backend.SumRows(perExampleGradients, batch, dim, output);
        backend.AddGaussianNoise(output, noiseMultiplier * clipNorm, seed);
        backend.Scale(output, 1f / batch);
    }
}
