using System.Numerics.Tensors;

namespace AllReduceNet.Serving.Drift;

/// <summary>
/// The multivariate two-sample test on activation vectors: the unbiased estimate of the squared maximum mean
/// discrepancy (MMD², Gretton et al. 2012) with the RBF kernel k(x, y) = exp(-|x - y|² / (2 σ²)), and its p-value by a
/// permutation test (as Alibi Detect's MMDDrift): the share of random relabelings of the pooled vectors whose MMD² is at
/// least the observed one, counting the observed labeling itself, so p is never below 1 / (permutations + 1).
/// </summary>
internal static class MaximumMeanDiscrepancy
{
    /// <summary>MMD²_u of two samples of vectors of one length.</summary>
    public static double Squared(float[][] x, float[][] y, double bandwidth)
    {
        var kernel = Kernel(x.Concat(y).ToArray(), bandwidth);
        var inX = new bool[x.Length + y.Length];
        for (int i = 0; i < x.Length; i++) inX[i] = true;
        return Squared(kernel, inX, x.Length, y.Length);
    }

    /// <summary>MMD²_u and its permutation p-value.</summary>
    /// <param name="x">The reference vectors (at least 2).</param>
    /// <param name="y">The current vectors (at least 2).</param>
    /// <param name="bandwidth">The kernel's σ, positive.</param>
    /// <param name="permutations">Random relabelings to compare with, at least 1.</param>
    /// <param name="seed">Seeds the relabelings (a window's result is reproducible).</param>
    public static (double Mmd2, double PValue) Test(float[][] x, float[][] y, double bandwidth, int permutations, int seed)
    {
        if (x.Length < 2 || y.Length < 2) throw new ArgumentException("MMD needs at least two vectors in each sample.");
        if (!(bandwidth > 0)) throw new ArgumentException($"the kernel bandwidth must be positive, not {bandwidth}.");
        var kernel = Kernel(x.Concat(y).ToArray(), bandwidth);
        int total = x.Length + y.Length;
        var labels = new bool[total];
        for (int i = 0; i < x.Length; i++) labels[i] = true;
        double observed = Squared(kernel, labels, x.Length, y.Length);
        var random = new Random(seed);
        int atLeast = 0;
        for (int p = 0; p < permutations; p++)
        {
            random.Shuffle(labels);
            if (Squared(kernel, labels, x.Length, y.Length) >= observed) atLeast++;
        }
        return (observed, (atLeast + 1.0) / (permutations + 1.0));
    }

    /// <summary>The pooled kernel matrix, row-major.</summary>
    private static double[] Kernel(float[][] vectors, double bandwidth)
    {
        int total = vectors.Length;
        var kernel = new double[total * total];
        double scale = -1 / (2 * bandwidth * bandwidth);
        // One core on purpose, as the rest of a window's test (DriftDetector).
        for (int i = 0; i < total; i++)
        {
            kernel[i * total + i] = 1;
            for (int j = i + 1; j < total; j++)
            {
                double d = TensorPrimitives.Distance<float>(vectors[i], vectors[j]);
                kernel[i * total + j] = Math.Exp(d * d * scale);
            }
        }
        for (int i = 0; i < total; i++)
            for (int j = i + 1; j < total; j++) kernel[j * total + i] = kernel[i * total + j];
        return kernel;
    }

    /// <summary>MMD²_u for the labeling <paramref name="inX"/> of the pooled vectors (diagonal terms excluded).</summary>
    private static double Squared(double[] kernel, bool[] inX, int n, int m)
    {
        int total = inX.Length;
        double xx = 0, yy = 0, xy = 0;
        for (int i = 0; i < total; i++)
        {
            bool a = inX[i];
            int row = i * total;
            for (int j = i + 1; j < total; j++)
            {
                double k = kernel[row + j];
                if (a == inX[j]) { if (a) xx += k; else yy += k; }
                else xy += k;
            }
        }
        return 2 * xx / ((double)n * (n - 1)) + 2 * yy / ((double)m * (m - 1)) - 2 * xy / ((double)n * m);
    }
}
