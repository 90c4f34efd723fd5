using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

public class DenseTests
{
    public static TheoryData<string> All => Backends.All;

    [Theory]
    [MemberData(nameof(All))]
    public void MatMul_MatchesNaiveReference_AllTransposes_OddShapes(string name)
    {
        var backend = Backends.Get(name);
        var shapes = new List<(int m, int k, int n)> { (1, 1, 1), (3, 5, 7), (17, 33, 15), (6, 16, 16), (31, 1, 40), (2, 300, 3), (0, 4, 3), (4, 0, 3) };
        if (name == "cpu") shapes.AddRange([(130, 270, 530), (7, 600, 1030), (97, 13, 5)]);
        foreach (var (m, k, n) in shapes)
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        {
            var rng = new Random(m * 10007 + k * 101 + n);
            float[] a = rng.RandomFloats(m * k), b = rng.RandomFloats(k * n);
            using var ab = backend.Upload(a);
            using var bb = backend.Upload(b);
            using var cb = backend.Allocate<float>(m * n);
            cb.CopyFrom(Enumerable.Repeat(float.NaN, m * n).ToArray()); // C is overwritten, never read
            backend.MatMul(ab, bb, cb, m, k, n, ta, tb);
            Assert2.Close(Reference.MatMul(a, b, m, k, n, ta, tb), cb.ToArray(), 1e-5, 1e-5 * Math.Sqrt(k + 1), $"{name} {m}x{k}x{n} ta={ta} tb={tb}");
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void DenseForward_IsMatMulPlusBiasThenRelu(string name)
    {
        var backend = Backends.Get(name);
        int batch = 5, fin = 7, fout = 3;
        var rng = new Random(2);
        float[] x = rng.RandomFloats(batch * fin), w = rng.RandomFloats(fin * fout), bias = rng.RandomFloats(fout);
        using var xb = backend.Upload(x);
        using var wb = backend.Upload(w);
        using var bb = backend.Upload(bias);
        using var y = backend.Allocate<float>(batch * fout);
        foreach (bool relu in new[] { false, true })
        {
            backend.DenseForward(xb, wb, bb, y, batch, fin, fout, relu);
            var e = Reference.MatMul(x, w, batch, fin, fout, false, false);
            for (int i = 0; i < e.Length; i++)
            {
                e[i] += bias[i % fout];
                if (relu) e[i] = Math.Max(0, e[i]);
            }
            Assert2.Close(e, y.ToArray(), 1e-5, 1e-6, $"{name} relu={relu}");
        }
    }

    /// <summary>
    /// Finite-difference check of a two-layer MLP with softmax cross-entropy: analytic gradients from
    /// DenseBackward / SoftmaxCrossEntropy against central differences of the loss, evaluated in double by the
    /// reference, for every weight, bias and input.
    /// </summary>
    [Theory]
    [MemberData(nameof(All))]
    public void MlpGradients_PassFiniteDifferenceCheck(string name)
    {
        var backend = Backends.Get(name);
        int batch = 3, fin = 5, hidden = 4, classes = 3;
        // Data whose hidden pre-activations all stay 0.05 away from the ReLU kink, so central differences with
        // h = 1e-3 (which move a pre-activation by at most ~5e-3) never straddle it.
        float[] x, w1, b1, w2, b2;
        int seed = 11;
        while (true)
        {
            var rng = new Random(seed++);
            x = rng.RandomFloats(batch * fin); w1 = rng.RandomFloats(fin * hidden); b1 = rng.RandomFloats(hidden, 0.3f);
            w2 = rng.RandomFloats(hidden * classes); b2 = rng.RandomFloats(classes, 0.3f);
            var pre = Reference.MatMul(x, w1, batch, fin, hidden, false, false);
            bool clear = true;
            for (int i = 0; i < pre.Length; i++) clear &= Math.Abs(pre[i] + b1[i % hidden]) > 0.05;
            if (clear) break;
        }
        int[] labels = [2, 0, 1];

        double Loss(float[] x_, float[] w1_, float[] b1_, float[] w2_, float[] b2_)
        {
            var h = Reference.MatMul(x_, w1_, batch, fin, hidden, false, false);
            var hf = new float[h.Length];
            for (int i = 0; i < h.Length; i++) hf[i] = (float)Math.Max(0, h[i] + b1_[i % hidden]);
            var z = Reference.MatMul(hf, w2_, batch, hidden, classes, false, false);
            var zf = new float[z.Length];
            for (int i = 0; i < z.Length; i++) zf[i] = (float)(z[i] + b2_[i % classes]);
            return Reference.SoftmaxCrossEntropy(zf, labels, batch, classes);
        }

        using var xb = backend.Upload(x);
        using var w1b = backend.Upload(w1);
        using var b1b = backend.Upload(b1);
        using var w2b = backend.Upload(w2);
        using var b2b = backend.Upload(b2);
        using var hb = backend.Allocate<float>(batch * hidden);
        using var zb = backend.Allocate<float>(batch * classes);
        using var lb = backend.Upload(labels);
        using var dz = backend.Allocate<float>(batch * classes);
        using var dh = backend.Allocate<float>(batch * hidden);
        using var dx = backend.Allocate<float>(batch * fin);
        using var dw1 = backend.Allocate<float>(fin * hidden);
        using var db1 = backend.Allocate<float>(hidden);
        using var dw2 = backend.Allocate<float>(hidden * classes);
        using var db2 = backend.Allocate<float>(classes);

        backend.DenseForward(xb, w1b, b1b, hb, batch, fin, hidden, relu: true);
        backend.DenseForward(hb, w2b, b2b, zb, batch, hidden, classes, relu: false);
        float loss = backend.SoftmaxCrossEntropy(zb, lb, dz, batch, classes);
        Assert.Equal(Loss(x, w1, b1, w2, b2), loss, 1e-5);
        backend.DenseBackward(hb, w2b, zb, dz, dh, dw2, db2, batch, hidden, classes, relu: false);
        backend.DenseBackward(xb, w1b, hb, dh, dx, dw1, db1, batch, fin, hidden, relu: true);

        const float h = 1e-3f;
        void Check(float[] param, float[] analytic, string what)
        {
            for (int i = 0; i < param.Length; i++)
            {
                float keep = param[i];
                param[i] = keep + h;
                double up = Loss(x, w1, b1, w2, b2);
                param[i] = keep - h;
                double down = Loss(x, w1, b1, w2, b2);
                param[i] = keep;
                double numeric = (up - down) / (2 * h);
                Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-3 + 1e-2 * Math.Abs(numeric),
                    $"{name} d{what}[{i}]: analytic {analytic[i]}, numeric {numeric}");
            }
        }
        Check(w2, dw2.ToArray(), "W2");
        Check(b2, db2.ToArray(), "b2");
        Check(w1, dw1.ToArray(), "W1");
        Check(b1, db1.ToArray(), "b1");
        Check(x, dx.ToArray(), "x");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void SoftmaxCrossEntropy_MatchesReferenceAndFiniteDifferences(string name)
    {
        var backend = Backends.Get(name);
        int batch = 4, classes = 5;
        var rng = new Random(4);
        float[] z = rng.RandomFloats(batch * classes, 4f);
        z[0] = 80f; // large logits must not overflow
        int[] labels = [0, 4, 2, 2];
        using var zb = backend.Upload(z);
        using var lb = backend.Upload(labels);
        using var gb = backend.Allocate<float>(batch * classes);
        using var pb = backend.Allocate<float>(batch * classes);
        float loss = backend.SoftmaxCrossEntropy(zb, lb, gb, batch, classes);
        Assert.Equal(Reference.SoftmaxCrossEntropy(z, labels, batch, classes), loss, 1e-5);
        var g = gb.ToArray();
        for (int i = 0; i < z.Length; i++)
        {
            float keep = z[i];
            z[i] = keep + 1e-2f;
            double up = Reference.SoftmaxCrossEntropy(z, labels, batch, classes);
            z[i] = keep - 1e-2f;
            double down = Reference.SoftmaxCrossEntropy(z, labels, batch, classes);
            z[i] = keep;
            double numeric = (up - down) / 2e-2;
            Assert.True(Math.Abs(numeric - g[i]) <= 1e-3 + 1e-2 * Math.Abs(numeric), $"{name} dz[{i}]: {g[i]} vs {numeric}");
        }
        backend.Softmax(zb, pb, batch, classes);
        var p = pb.ToArray();
        for (int r = 0; r < batch; r++)
        {
            Assert.Equal(1.0, p.AsSpan(r * classes, classes).ToArray().Sum(v => (double)v), 1e-5);
            for (int c = 0; c < classes; c++) Assert.Equal(g[r * classes + c] * batch + (labels[r] == c ? 1 : 0), p[r * classes + c], 1e-5);
        }
        // In place: the gradient may overwrite the logits.
        float again = backend.SoftmaxCrossEntropy(zb, lb, zb, batch, classes);
        Assert.Equal(loss, again, 1e-6);
        Assert2.Close(g, zb.ToArray(), 1e-6, 1e-7, "in place");
        using var bad = backend.Upload(new[] { 0, 5, 1, 1 });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => backend.SoftmaxCrossEntropy(zb, bad, gb, batch, classes));
        Assert.Contains("labels[1] = 5", e.Message);
    }
}
