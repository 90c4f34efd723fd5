using AllReduceNet.Kernels;

namespace AllReduceNet.Kernels.Tests;

public class MaskingTests
{
    public static TheoryData<string> All => Backends.All;
    public static TheoryData<string> Gpu => Backends.Gpu;

    /// <summary>s_ij = s_ji, random per pair.</summary>
    private static Seed128[][] PairSeeds(int clients, int seed)
    {
        var rng = new Random(seed);
        var s = new Seed128[clients][];
        for (int i = 0; i < clients; i++) s[i] = new Seed128[clients];
        for (int i = 0; i < clients; i++)
        for (int j = i + 1; j < clients; j++)
        {
            var v = new Seed128((uint)rng.NextInt64(), (uint)rng.NextInt64(), (uint)rng.NextInt64(), (uint)rng.NextInt64());
            s[i][j] = v;
            s[j][i] = v;
        }
        return s;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void MasksCancelExactly_AndSumIsWithinQuantizationBound_For2To16Clients(string name)
    {
        var backend = Backends.Get(name);
        int[] sizes = name == "cpu" ? [1, 3, 17, 1031, 40_003] : [1, 3, 17, 1031];
        foreach (int n in sizes)
        foreach (int clients in name == "cpu" ? Enumerable.Range(2, 15) : [2, 3, 7, 16])
        {
            var format = FixedPointFormat.ForClients(clipRange: 4f, maxClients: 16);
            var seeds = PairSeeds(clients, n * 100 + clients);
            var rng = new Random(n + clients);
            using var maskedSum = backend.Allocate<int>(n);
            using var plainSum = backend.Allocate<int>(n);
            using var masked = backend.Allocate<int>(n);
            var exact = new double[n];
            for (int i = 0; i < clients; i++)
            {
                float[] x = rng.RandomFloats(n, 5f); // some values beyond the clip range of 4
                for (int k = 0; k < n; k++) exact[k] += Math.Clamp(x[k], -4f, 4f);
                using var update = backend.Upload(x);
                backend.QuantizeAndMask(update, masked, i, seeds[i], format);
                backend.AddWrapping(maskedSum, masked);
                backend.QuantizeAndMask(update, masked, 0, [default], format); // one client: no masks
                backend.AddWrapping(plainSum, masked);
                if (i == 0 && n >= 17)
                {
                    // A masked update on its own must not reveal the quantized values.
                    var m = masked.ToArray();
                    backend.QuantizeAndMask(update, masked, i, seeds[i], format);
                    Assert.NotEqual(m, masked.ToArray());
                }
            }
            // Masks cancel exactly: bitwise the same integers as the plain quantized sum.
            Assert.Equal(plainSum.ToArray(), maskedSum.ToArray());

            using var result = backend.Allocate<float>(n);
            backend.Dequantize(maskedSum, result, format);
            double bound = format.SumErrorBound(clients);
            var actual = result.ToArray();
            for (int k = 0; k < n; k++)
            {
                double tol = bound + Math.Abs(exact[k]) * Math.Pow(2, -24);
                Assert.True(Math.Abs(actual[k] - exact[k]) <= tol,
                    $"{name} n={n} clients={clients} [{k}]: {actual[k]} vs {exact[k]}, bound {tol}");
            }
        }
    }

    [Fact]
    public void Quantize_RoundsHalfUpAndClips()
    {
        var backend = Backends.Cpu;
        var format = new FixedPointFormat(fractionalBits: 2, clipRange: 1f, maxClients: 4);
        using var x = backend.Upload(new[] { 0.125f, -0.125f, 0.3f, 5f, -5f, float.NaN, 0.374f });
        using var q = backend.Allocate<int>(7);
        backend.QuantizeAndMask(x, q, 0, [default], format);
        // Scale 4: 0.5 -> 1, -0.5 -> 0, 1.2 -> 1, clip 4, -4, NaN -> 0, 1.496 -> 1
        Assert.Equal(new[] { 1, 0, 1, 4, -4, 0, 1 }, q.ToArray());
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Quantize_MatchesScalarFormula_OnTiesAndExtremes(string name)
    {
        var backend = Backends.Get(name);
        foreach (var format in new[] { new FixedPointFormat(16, 3f, 8), new FixedPointFormat(28, 3f, 2), new FixedPointFormat(0, 1e9f, 2) })
        {
            float scale = format.Scale, clip = format.ClipRange;
            var rng = new Random(format.FractionalBits);
            var x = new List<float> { float.NaN, float.PositiveInfinity, float.NegativeInfinity, clip, -clip, 0f, -0f };
            for (int i = 0; i < 2000; i++)
            {
                long k = rng.NextInt64(-(long)(clip * scale), (long)(clip * scale));
                x.Add((float)((k + 0.5) / scale));                 // exact ties where representable
                x.Add((float)(k / (double)scale));
                x.Add((float)((rng.NextDouble() * 2 - 1) * clip * 1.5));
            }
            float[] xs = x.ToArray();
            using var xb = backend.Upload(xs);
            using var qb = backend.Allocate<int>(xs.Length);
            backend.QuantizeAndMask(xb, qb, 0, [default], format);
            var q = qb.ToArray();
            for (int i = 0; i < xs.Length; i++)
            {
                double c = float.IsNaN(xs[i]) ? 0 : Math.Clamp((double)xs[i], -clip, clip);
                int expected = (int)Math.Floor(c * scale + 0.5);
                Assert.True(expected == q[i], $"{name} bits={format.FractionalBits} x={xs[i]:R}: expected {expected}, actual {q[i]}");
            }
        }
    }

    [Fact]
    public void MaskOfElement_IsTheDocumentedPhiloxWord()
    {
        var backend = Backends.Cpu;
        var format = new FixedPointFormat(8, 1f, 2);
        var s = new Seed128(1, 2, 3, 4);
        int n = 203; // four-chain AVX2 blocks of 64, a 16-element block and a scalar tail
        using var x = backend.Allocate<float>(n);
        using var q = backend.Allocate<int>(n);
        backend.QuantizeAndMask(x, q, 0, [default, s], format); // client 0 adds +PRG(s_01)
        var plus = q.ToArray();
        backend.QuantizeAndMask(x, q, 1, [s, default], format); // client 1 subtracts it
        var minus = q.ToArray();
        for (int k = 0; k < n; k++)
        {
            uint w = Reference.Philox([(uint)(k / 4), 0, 3, 4], [1, 2])[k % 4];
            Assert.Equal((int)w, plus[k]);
            Assert.Equal(unchecked(-(int)w), minus[k]);
        }
    }

    [Theory]
    [MemberData(nameof(Gpu))]
    public void GpuKernel_MatchesCpuPathBitwise(string name)
    {
        var gpu = Backends.Get(name);
        var cpu = Backends.Cpu;
        var format = FixedPointFormat.ForClients(2f, 8);
        var seeds = PairSeeds(8, 99);
        foreach (int n in new[] { 1, 2, 5, 16, 33, 1023 })
        {
            float[] x = new Random(n).RandomFloats(n, 3f);
            using var xg = gpu.Upload(x);
            using var xc = cpu.Upload(x);
            using var qg = gpu.Allocate<int>(n);
            using var qc = cpu.Allocate<int>(n);
            gpu.QuantizeAndMask(xg, qg, 3, seeds[3], format);
            cpu.QuantizeAndMask(xc, qc, 3, seeds[3], format);
            Assert.Equal(qc.ToArray(), qg.ToArray());
        }
    }

    [Fact]
    public void Format_RejectsRangesThatCouldOverflow_AndDocumentsItsBound()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new FixedPointFormat(24, 100f, 16));
        Assert.Contains("overflow", e.Message);
        var f = FixedPointFormat.ForClients(1f, 16);
        Assert.True(16 * (1.0 * f.Scale + 0.5) <= int.MaxValue);
        Assert.True(16 * (1.0 * f.Scale * 2 + 0.5) > int.MaxValue); // one more bit would not be safe
        Assert.Equal(16 * 0.5 / f.Scale, f.SumErrorBound(16));
        using var u = Backends.Cpu.Allocate<float>(1);
        using var q = Backends.Cpu.Allocate<int>(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => Backends.Cpu.QuantizeAndMask(u, q, 0, new Seed128[17], f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Backends.Cpu.QuantizeAndMask(u, q, 2, new Seed128[2], f));
    }
}
