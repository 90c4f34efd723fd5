using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

public class OptimizerTests
{
    public static TheoryData<string> All => Backends.All;

    [Theory]
    [MemberData(nameof(All))]
    public void Sgd_MatchesHandComputedSteps(string name)
    {
        var backend = Backends.Get(name);
        using var p = backend.Upload(new[] { 1f, -2f });
        using var g = backend.Upload(new[] { 0.5f, 0.25f });
        using var v = backend.Allocate<float>(2);
        var o = new SgdOptions(0.1f, momentum: 0.9f, weightDecay: 0.01f, nesterov: false);
        backend.SgdStep(p, g, v, o);
        // x0: d = 0.5 + 0.01*1 = 0.51; v = 0.51; p = 1 - 0.051 = 0.949
        // x1: d = 0.25 - 0.02 = 0.23; v = 0.23; p = -2 - 0.023 = -2.023
        Assert2.Close(new[] { 0.949f, -2.023f }, p.ToArray(), 1e-6, 1e-7, "p1");
        Assert2.Close(new[] { 0.51f, 0.23f }, v.ToArray(), 1e-6, 1e-7, "v1");
        backend.SgdStep(p, g, v, o);
        // x0: d = 0.5 + 0.00949 = 0.50949; v = 0.459 + 0.50949 = 0.96849; p = 0.949 - 0.096849 = 0.852151
        Assert2.Close(new[] { 0.852151f }, p.ToArray().AsSpan(0, 1), 1e-6, 1e-7, "p2");

        using var pn = backend.Upload(new[] { 1f });
        using var gn = backend.Upload(new[] { 0.5f });
        using var vn = backend.Upload(new[] { 0.2f });
        backend.SgdStep(pn, gn, vn, new SgdOptions(0.1f, momentum: 0.9f, nesterov: true));
        // v = 0.18 + 0.5 = 0.68; step = 0.5 + 0.9*0.68 = 1.112; p = 1 - 0.1112 = 0.8888
        Assert2.Close(new[] { 0.8888f }, pn.ToArray(), 1e-6, 1e-7, "nesterov p");
        Assert2.Close(new[] { 0.68f }, vn.ToArray(), 1e-6, 1e-7, "nesterov v");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Adam_MatchesHandComputedFirstStep(string name)
    {
        var backend = Backends.Get(name);
        using var p = backend.Upload(new[] { 1f, 1f });
        using var g = backend.Upload(new[] { 0.5f, -2f });
        using var m = backend.Allocate<float>(2);
        using var v = backend.Allocate<float>(2);
        backend.AdamStep(p, g, m, v, 1, new AdamOptions(learningRate: 0.1f, epsilon: 1e-8f));
        // Step 1: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps) = lr * sign(g).
        Assert2.Close(new[] { 0.9f, 1.1f }, p.ToArray(), 1e-6, 1e-6, "p");
        Assert2.Close(new[] { 0.05f, -0.2f }, m.ToArray(), 1e-6, 1e-7, "m");
        Assert2.Close(new[] { 0.00025f, 0.004f }, v.ToArray(), 1e-4, 1e-9, "v"); // 1 - 0.999 is 1.00005e-3 in float

        // AdamW: p = 1 * (1 - 0.1 * 0.5) - 0.1 * sign(g) = 0.95 - 0.1.
        using var pw = backend.Upload(new[] { 1f });
        using var gw = backend.Upload(new[] { 3f });
        using var mw = backend.Allocate<float>(1);
        using var vw = backend.Allocate<float>(1);
        backend.AdamStep(pw, gw, mw, vw, 1, new AdamOptions(learningRate: 0.1f, weightDecay: 0.5f, decoupledWeightDecay: true));
        Assert2.Close(new[] { 0.85f }, pw.ToArray(), 1e-6, 1e-6, "adamw p");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Sgd_MatchesReferenceOnRandomOddSizes(string name)
    {
        var backend = Backends.Get(name);
        foreach (int n in new[] { 1, 3, 17, 1001, 20_011 })
        foreach (bool nesterov in new[] { false, true })
        {
            var rng = new Random(n);
            float[] p0 = rng.RandomFloats(n), g0 = rng.RandomFloats(n), v0 = rng.RandomFloats(n);
            double[] p = Array.ConvertAll(p0, x => (double)x), g = Array.ConvertAll(g0, x => (double)x), v = Array.ConvertAll(v0, x => (double)x);
            using var pb = backend.Upload(p0);
            using var gb = backend.Upload(g0);
            using var vb = backend.Upload(v0);
            var o = new SgdOptions(0.05f, 0.9f, 0.001f, nesterov);
            for (int step = 0; step < 3; step++)
            {
                backend.SgdStep(pb, gb, vb, o);
                Reference.Sgd(p, g, v, 0.05f, 0.9f, 0.001f, nesterov);
            }
            Assert2.Close(p, pb.ToArray(), 1e-5, 1e-6, $"{name} n={n} p");
            Assert2.Close(v, vb.ToArray(), 1e-5, 1e-6, $"{name} n={n} v");
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Adam_MatchesReferenceOnRandomOddSizes(string name)
    {
        var backend = Backends.Get(name);
        foreach (int n in new[] { 1, 5, 33, 8195 })
        foreach (bool decoupled in new[] { false, true })
        {
            var rng = new Random(n + 7);
            float[] p0 = rng.RandomFloats(n), g0 = rng.RandomFloats(n);
            double[] p = Array.ConvertAll(p0, x => (double)x), g = Array.ConvertAll(g0, x => (double)x);
            double[] m = new double[n], v = new double[n];
            using var pb = backend.Upload(p0);
            using var gb = backend.Upload(g0);
            using var mb = backend.Allocate<float>(n);
            using var vb = backend.Allocate<float>(n);
            var o = new AdamOptions(0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled);
            for (int t = 1; t <= 4; t++)
            {
                backend.AdamStep(pb, gb, mb, vb, t, o);
                Reference.Adam(p, g, m, v, t, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled);
            }
            Assert2.Close(p, pb.ToArray(), 1e-5, 1e-6, $"{name} n={n} p");
            Assert2.Close(m, mb.ToArray(), 1e-5, 1e-6, $"{name} n={n} m");
            Assert2.Close(v, vb.ToArray(), 1e-4, 1e-7, $"{name} n={n} v");
        }
    }

    [Fact]
    public void Options_RejectOutOfRangeValues()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SgdOptions(-1f));
        Assert.Contains("learningRate", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SgdOptions(0.1f, momentum: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamOptions(beta2: 1.5f));
        using var p = Backends.Cpu.Allocate<float>(2);
        using var g = Backends.Cpu.Allocate<float>(1);
        var ex = Assert.Throws<ArgumentException>(() => Backends.Cpu.SgdStep(p, g, p, new SgdOptions(0.1f)));
        Assert.Contains("gradients", ex.Message);
        Assert.Throws<ArgumentException>(() => Backends.Cpu.SgdStep(p, p, p, default));
        Assert.Throws<ArgumentOutOfRangeException>(() => Backends.Cpu.AdamStep(p, p, p, p, 0, new AdamOptions()));
    }
}
