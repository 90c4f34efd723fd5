namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// Plain scalar reference implementations in double precision, written from the formulas in the docs and sharing no
/// code with the library (the Philox reference below is its own, from the Random123 paper).
/// </summary>
internal static class Reference
{
    public static void Sgd(double[] p, double[] g, double[] v, double lr, double mu, double wd, bool nesterov)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i] + wd * p[i];
            v[i] = mu * v[i] + d;
            p[i] -= lr * (nesterov ? d + mu * v[i] : v[i]);
        }
    }

    public static void Adam(double[] p, double[] g, double[] m, double[] v, int t, double lr, double b1, double b2, double eps, double wd, bool decoupled)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i];
            if (decoupled) p[i] *= 1 - lr * wd;
            else d += wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * d;
            v[i] = b2 * v[i] + (1 - b2) * d * d;
            double mh = m[i] / (1 - Math.Pow(b1, t));
            double vh = v[i] / (1 - Math.Pow(b2, t));
            p[i] -= lr * mh / (Math.Sqrt(vh) + eps);
        }
    }

    public static double[] MatMul(float[] a, float[] b, int m, int k, int n, bool ta, bool tb)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++)
            {
                double x = ta ? a[p * m + i] : a[i * k + p];
                double y = tb ? b[j * k + p] : b[p * n + j];
                s += x * y;
            }
            c[i * n + j] = s;
        }
        return c;
    }

    /// <summary>Philox4x32-10 from the Random123 paper: key bumped before each round after the first.</summary>
    public static uint[] Philox(uint[] ctr, uint[] key)
    {
        uint c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
        for (int r = 0; r < 10; r++)
        {
            if (r > 0) { k0 += 0x9E3779B9; k1 += 0xBB67AE85; }
            ulong p0 = 0xD2511F53UL * c0, p1 = 0xCD9E8D57UL * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
        }
        return [c0, c1, c2, c3];
    }

    public static double Norm(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float v in x) s += (double)v * v;
        return Math.Sqrt(s);
    }

    /// <summary>Mean softmax cross-entropy in double.</summary>
    public static double SoftmaxCrossEntropy(float[] z, int[] labels, int batch, int classes)
    {
        double loss = 0;
        for (int r = 0; r < batch; r++)
        {
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++) max = Math.Max(max, z[r * classes + c]);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(z[r * classes + c] - max);
            loss += Math.Log(sum) + max - z[r * classes + labels[r]];
        }
        return loss / batch;
    }
}
