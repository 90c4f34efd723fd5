using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// Every ILGPU kernel against the CPU path on the same random inputs, odd sizes included (the other test classes check
/// each backend against scalar references and hand-computed values).
/// </summary>
public class GpuVsCpuTests
{
    public static TheoryData<string> Gpu => Backends.Gpu;

    private static IKernelBackend Cpu => Backends.Cpu;

    [Theory]
    [MemberData(nameof(Gpu))]
    public void Optimizers(string name)
    {
        var gpu = Backends.Get(name);
        foreach (int n in new[] { 1, 9, 4097 })
        {
            var rng = new Random(n);
            float[] p = rng.RandomFloats(n), g = rng.RandomFloats(n), v = rng.RandomFloats(n, 0.1f);
            float[][] Run(IKernelBackend b)
            {
                using var pb = b.Upload(p); using var gb = b.Upload(g); using var vb = b.Upload(v);
                using var mb = b.Upload(g); using var sb = b.Upload(v.Select(Math.Abs).ToArray());
                b.SgdStep(pb, gb, vb, new SgdOptions(0.1f, 0.9f, 0.01f, nesterov: true));
                b.AdamStep(pb, gb, mb, sb, 3, new AdamOptions(0.01f, weightDecay: 0.1f));
                b.AdamStep(pb, gb, mb, sb, 4, new AdamOptions(0.01f, weightDecay: 0.1f, decoupledWeightDecay: true));
                return [pb.ToArray(), vb.ToArray(), mb.ToArray(), sb.ToArray()];
            }
            var c = Run(Cpu);
            var d = Run(gpu);
            for (int i = 0; i < c.Length; i++) Assert2.Close(c[i], d[i], 1e-5, 1e-6, $"{name} n={n} buffer {i}");
        }
    }

    [Theory]
    [MemberData(nameof(Gpu))]
    public void DenseLayerSoftmaxAndReductions(string name)
    {
        var gpu = Backends.Get(name);
        int batch = 7, fin = 19, fout = 5;
        var rng = new Random(21);
        float[] x = rng.RandomFloats(batch * fin), w = rng.RandomFloats(fin * fout), bias = rng.RandomFloats(fout);
        float[] dy = rng.RandomFloats(batch * fout);
        int[] labels = Enumerable.Range(0, batch).Select(i => i % fout).ToArray();
        (float[][] buffers, float loss) Run(IKernelBackend b)
        {
            using var xb = b.Upload(x); using var wb = b.Upload(w); using var bb = b.Upload(bias);
            using var y = b.Allocate<float>(batch * fout); using var dyb = b.Upload(dy);
            using var dx = b.Allocate<float>(batch * fin); using var dw = b.Allocate<float>(fin * fout); using var db = b.Allocate<float>(fout);
            using var p = b.Allocate<float>(batch * fout); using var g = b.Allocate<float>(batch * fout); using var lb = b.Upload(labels);
            using var sum = b.Allocate<float>(batch * fout);
            b.DenseForward(xb, wb, bb, y, batch, fin, fout, relu: true);
            b.DenseBackward(xb, wb, y, dyb, dx, dw, db, batch, fin, fout, relu: true);
            b.Softmax(y, p, batch, fout);
            float loss = b.SoftmaxCrossEntropy(y, lb, g, batch, fout);
            b.Average([y, p, g], sum);
            return ([y.ToArray(), dyb.ToArray(), dx.ToArray(), dw.ToArray(), db.ToArray(), p.ToArray(), g.ToArray(), sum.ToArray()], loss);
        }
        var (c, lc) = Run(Cpu);
        var (d, ld) = Run(gpu);
        Assert.Equal(lc, ld, 1e-5);
        for (int i = 0; i < c.Length; i++) Assert2.Close(c[i], d[i], 1e-5, 1e-6, $"{name} buffer {i}");
    }

    [Theory]
    [MemberData(nameof(Gpu))]
    public void PrivacyKernels(string name)
    {
        var gpu = Backends.Get(name);
        int rows = 6, len = 301;
        float[] g = new Random(8).RandomFloats(rows * len, 0.3f);
        float[][] Run(IKernelBackend b)
        {
            using var gb = b.Upload(g); using var norms = b.Allocate<float>(rows); using var sum = b.Allocate<float>(len);
            using var noise = b.Allocate<float>(1001);
            b.ClipRows(gb, rows, len, 1f, norms);
            b.SumRows(gb, rows, len, sum);
            b.AddGaussianNoise(noise, 2f, new Seed128(3, 1, 4, 1));
            return [norms.ToArray(), gb.ToArray(), sum.ToArray(), noise.ToArray()];
        }
        var c = Run(Cpu);
        var d = Run(gpu);
        for (int i = 0; i < c.Length; i++) Assert2.Close(c[i], d[i], 1e-5, 1e-6, $"{name} buffer {i}");
    }
}
