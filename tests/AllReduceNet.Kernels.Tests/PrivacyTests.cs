using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

public class PrivacyTests
{
    public static TheoryData<string> All => Backends.All;
    public static TheoryData<string> Gpu => Backends.Gpu;

    [Theory]
    [MemberData(nameof(All))]
    public void NormsClipAndSum_MatchReference_AndClippedNormsNeverExceedC(string name)
    {
        var backend = Backends.Get(name);
        foreach (var (rows, len) in new[] { (1, 1), (3, 7), (17, 129), (64, 1000), (5, 20_001) })
        {
            var rng = new Random(rows * 1000 + len);
            float[] g = new float[rows * len];
            for (int r = 0; r < rows; r++)
            {
                float scale = r % 3 == 0 ? 0.001f : r % 3 == 1 ? 1f : 50f; // below, around and far above C
                rng.RandomFloats(len, scale).CopyTo(g, r * len);
            }
            if (rows > 2) Array.Clear(g, len, len); // a zero row
            const float C = 1.5f;
            using var gb = backend.Upload(g);
            using var norms = backend.Allocate<float>(rows);
            backend.RowNorms(gb, rows, len, norms);
            var expectedNorms = Enumerable.Range(0, rows).Select(r => Reference.Norm(g.AsSpan(r * len, len))).ToArray();
            Assert2.Close(expectedNorms, norms.ToArray(), 1e-5, 1e-7, $"{name} norms");

            backend.ClipRows(gb, rows, len, C, norms);
            Assert2.Close(expectedNorms, norms.ToArray(), 1e-5, 1e-7, $"{name} norms before clipping");
            var clipped = gb.ToArray();
            var expected = new double[g.Length];
            for (int r = 0; r < rows; r++)
            {
                double s = Math.Min(1.0, C / expectedNorms[r]);
                if (expectedNorms[r] == 0) s = 1;
                for (int c = 0; c < len; c++) expected[r * len + c] = g[r * len + c] * s;
                double after = Reference.Norm(clipped.AsSpan(r * len, len));
                Assert.True(after <= C, $"{name} row {r}: clipped norm {after:R} exceeds C = {C}");
            }
            Assert2.Close(expected, clipped, 1e-5, 1e-7, $"{name} clipped");

            using var sum = backend.Allocate<float>(len);
            backend.SumRows(gb, rows, len, sum);
            var expectedSum = new double[len];
            for (int r = 0; r < rows; r++)
            for (int c = 0; c < len; c++) expectedSum[c] += clipped[r * len + c];
            Assert2.Close(expectedSum, sum.ToArray(), 1e-5, 1e-5, $"{name} sum");
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void GaussianNoise_HasMeanZeroAndStandardDeviationSigmaC(string name)
    {
        var backend = Backends.Get(name);
        int n = name == "cpu" ? 1_000_003 : 100_003;
        const float sigmaC = 0.75f;
        using var x = backend.Allocate<float>(n);
        backend.AddGaussianNoise(x, sigmaC, new Seed128(7, 11, 13, 17));
        var v = x.ToArray();
        double mean = v.Average(f => (double)f);
        double sd = Math.Sqrt(v.Sum(f => (f - mean) * (f - mean)) / (n - 1));
        // 5-sigma bounds: the mean's standard error is sigma/sqrt(n); the sd's is about sigma/sqrt(2n).
        Assert.InRange(mean, -5 * sigmaC / Math.Sqrt(n), 5 * sigmaC / Math.Sqrt(n));
        Assert.InRange(sd, sigmaC * (1 - 5 / Math.Sqrt(2.0 * n)), sigmaC * (1 + 5 / Math.Sqrt(2.0 * n)));
        // Tails: P(|z| > 2) = 4.55 %, P(|z| > 3) = 0.27 %.
        double over2 = v.Count(f => Math.Abs(f) > 2 * sigmaC) / (double)n;
        double over3 = v.Count(f => Math.Abs(f) > 3 * sigmaC) / (double)n;
        Assert.InRange(over2, 0.0455 - 5 * Math.Sqrt(0.0455 / n), 0.0455 + 5 * Math.Sqrt(0.0455 / n));
        Assert.InRange(over3, 0.0027 - 5 * Math.Sqrt(0.0027 / n), 0.0027 + 5 * Math.Sqrt(0.0027 / n));
        // Lag-1 correlation near zero: the four lanes of a block and consecutive blocks are independent.
        double corr = 0;
        for (int i = 1; i < n; i++) corr += (v[i] - mean) * (v[i - 1] - mean);
        corr /= (n - 1) * sd * sd;
        Assert.InRange(corr, -5 / Math.Sqrt(n), 5 / Math.Sqrt(n));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void GaussianNoise_IsAFunctionOfSeedAndIndex(string name)
    {
        var backend = Backends.Get(name);
        var seed = new Seed128(1, 2, 3, 4);
        using var a = backend.Allocate<float>(10);
        using var b = backend.Allocate<float>(7);
        backend.AddGaussianNoise(a, 1f, seed);
        backend.AddGaussianNoise(b, 1f, seed);
        var av = a.ToArray();
        Assert.Equal(av.AsSpan(0, 7).ToArray(), b.ToArray()); // element k does not depend on the length
        for (int k = 0; k < 10; k++)
        {
            uint[] w = Reference.Philox([(uint)(k / 4), 0, 3, 4], [1, 2]);
            int pair = (k % 4) / 2 * 2;
            // 32-bit uniforms: u1 = (w + 1/2) / 2^32 in (0, 1], the angle the other word as a signed fraction of pi.
            double u1 = (w[pair] + 0.5) / 4294967296.0, theta = (int)w[pair + 1] * Math.PI / 2147483648.0;
            double z = Math.Sqrt(-2 * Math.Log(u1)) * (k % 2 == 0 ? Math.Cos(theta) : Math.Sin(theta));
            Assert.True(Math.Abs(z - av[k]) < 1e-4, $"{name} [{k}]: {av[k]} vs Box-Muller {z}");
        }
        using var c = backend.Allocate<float>(10);
        backend.AddGaussianNoise(c, 1f, seed with { W3 = 5 });
        Assert.NotEqual(av, c.ToArray());
    }

    [Theory]
    [MemberData(nameof(Gpu))]
    public void PrivatizeGradients_GpuMatchesCpu(string name)
    {
        var gpu = Backends.Get(name);
        var cpu = Backends.Cpu;
        int batch = 9, dim = 131;
        float[] g = new Random(3).RandomFloats(batch * dim, 2f);
        var seed = new Seed128(9, 8, 7, 6);
        float[] Run(IKernelBackend b)
        {
            using var gb = b.Upload(g);
            using var output = b.Allocate<float>(dim);
            using var norms = b.Allocate<float>(batch);
            b.PrivatizeGradients(gb, batch, dim, 1f, 1.1f, seed, output, norms);
            return output.ToArray();
        }
        Assert2.Close(Run(cpu), Run(gpu), 1e-4, 1e-5, name);
    }

    [Fact]
    public void PrivatizeGradients_IsClipSumNoiseAverage()
    {
        var b = Backends.Cpu;
        int batch = 4, dim = 6;
        float[] g = new Random(1).RandomFloats(batch * dim, 3f);
        var seed = new Seed128(5, 6, 7, 8);
        using var gb = b.Upload(g);
        using var output = b.Allocate<float>(dim);
        using var norms = b.Allocate<float>(batch);
        b.PrivatizeGradients(gb, batch, dim, clipNorm: 0.5f, noiseMultiplier: 2f, seed, output, norms);

        var expected = new double[dim];
        for (int r = 0; r < batch; r++)
        {
            double s = Math.Min(1, 0.5 / Reference.Norm(g.AsSpan(r * dim, dim)));
            for (int c = 0; c < dim; c++) expected[c] += g[r * dim + c] * s;
        }
        using var noise = b.Allocate<float>(dim);
        b.AddGaussianNoise(noise, 2f * 0.5f, seed);
        var z = noise.ToArray();
        for (int c = 0; c < dim; c++) expected[c] = (expected[c] + z[c]) / batch;
        Assert2.Close(expected, output.ToArray(), 1e-5, 1e-6, "dp");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void ScaleRows_MultipliesEachRowByItsFactor(string name)
    {
        var backend = Backends.Get(name);
        foreach (var (rows, len) in new[] { (1, 1), (3, 7), (17, 129), (5, 20_001) })
        {
            var rng = new Random(rows * 31 + len);
            float[] g = rng.RandomFloats(rows * len, 2f);
            float[] factors = Enumerable.Range(0, rows).Select(r => r % 2 == 0 ? 1f : 1f / (r + 2)).ToArray();
            using var gb = backend.Upload(g);
            using var fb = backend.Upload(factors);
            backend.ScaleRows(gb, rows, len, fb);
            var expected = new double[g.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < len; c++) expected[r * len + c] = (double)g[r * len + c] * factors[r];
            Assert2.Close(expected, gb.ToArray(), 1e-6, 1e-7, $"{name} ScaleRows {rows}x{len}");
        }
    }
}
