using System.Runtime.Intrinsics.X86;
using AllReduceNet.Kernels;
using AllReduceNet.Kernels.Cpu;

namespace AllReduceNet.Kernels.Tests;

/// <summary>
/// The distribution of the noise kernels' normals, beyond mean and std (PrivacyTests): a Kolmogorov-Smirnov test
/// against N(0, 1), the tails of the Box-Muller transform out to 6σ, and every vectorized CPU path (AVX-512, AVX2)
/// against the scalar transform that the ILGPU kernel runs.
/// </summary>
public class GaussianNoiseDistributionTests
{
    public static TheoryData<string> All => Backends.All;

    [Theory]
    [MemberData(nameof(All))]
    public void Noise_PassesKolmogorovSmirnovAgainstStandardNormal(string name)
    {
        var backend = Backends.Get(name);
        int n = name == "cpu" ? 1_000_000 : 100_000; // the ILGPU CPU accelerator emulates threads: fewer samples
        using var x = backend.Allocate<float>(n);
        backend.AddGaussianNoise(x, 1f, new Seed128(0xA5A5A5A5, 17, 99, 3));
        var v = x.ToArray();
        Array.Sort(v);
        double d = 0;
        for (int i = 0; i < n; i++)
        {
            double f = StandardNormalCdf(v[i]);
            d = Math.Max(d, Math.Max(Math.Abs(f - (double)i / n), Math.Abs((i + 1.0) / n - f)));
        }
        // Critical value at significance 0.001: 1.95 / sqrt(n) (Smirnov's asymptotic distribution).
        Assert.True(d < 1.95 / Math.Sqrt(n), $"{name}: KS statistic {d:G4} over {n} samples exceeds {1.95 / Math.Sqrt(n):G4}");
        // Four-sigma tail, P(|z| > 4) = 6.334e-5, within 5 Poisson standard deviations.
        double expected = 6.334e-5 * n;
        int over4 = v.Count(f => Math.Abs(f) > 4);
        Assert.InRange(over4, expected - 5 * Math.Sqrt(expected), expected + 5 * Math.Sqrt(expected));
    }

    [Fact]
    public void Transform_TailProbabilitiesAreExactOutPastFiveSigma()
    {
        // With angle word 0 (theta = 0) lane 0 is the radius itself, decreasing in the radius word a; the share of the
        // 2^32 words whose radius exceeds t must be P(R > t) = exp(-t^2 / 2), the Rayleigh tail, to a word (plus 0.1 % for float rounding). 24-bit
        // uniforms failed this from t = 5.77 on (no word reaches it).
        static float Radius(uint a) => GaussianTransform.Normal(new UInt4(a, 0, 0, 0), 0);
        foreach (double t in new[] { 2.0, 3.0, 4.0, 5.0, 5.5, 6.0, 6.5 })
        {
            // Binary search for the number of words with Radius(a) > t (a prefix, since Radius decreases in a).
            long lo = 0, hi = 1L << 32;
            while (lo < hi)
            {
                long mid = (lo + hi) / 2;
                if (Radius((uint)mid) > t) lo = mid + 1;
                else hi = mid;
            }
            double expectedWords = Math.Exp(-t * t / 2) * 4294967296.0;
            Assert.True(Math.Abs(lo - expectedWords) <= 1 + 1e-3 * expectedWords,
                $"{lo} words give R > {t}; the Rayleigh tail exp(-t^2/2) says {expectedWords:F1}");
        }
        Assert.True(Radius(0) > 6.7, $"largest radius {Radius(0)} (sqrt(2 ln 2^33) = 6.76)");
    }

    [Fact]
    public void EveryCpuPath_MatchesTheScalarTransform_AtAnyOffsetAndLength()
    {
        var seed = new Seed128(5, 6, 7, 8);
        var paths = new List<(string Name, Action<float[], long> Add)> { ("scalar", (d, first) => GaussianNoise.AddScalar(d, first, 1.5f, seed)) };
        if (Avx2.IsSupported) paths.Add(("avx2", (d, first) => GaussianNoise.AddAvx2(d, first, 1.5f, seed)));
        if (Avx512F.IsSupported) paths.Add(("avx512", (d, first) => GaussianNoise.AddAvx512(d, first, 1.5f, seed)));
        foreach (var (first, length) in new (long, int)[] { (0, 1), (0, 7), (4, 63), (8192, 129), (1L << 33, 1000), (12, 10_007) })
        {
            var expected = new double[length];
            for (int k = 0; k < length; k++)
            {
                long element = first + k;
                expected[k] = 1.5 * GaussianTransform.Normal(Philox4x32.StreamBlock(seed, element >> 2), (int)(element & 3));
            }
            foreach (var (name, add) in paths)
            {
                var actual = new float[length];
                add(actual, first);
                Assert2.Close(expected, actual, 1e-5, 1e-5, $"{name}, elements {first}..{first + length}");
            }
        }
    }

    /// <summary>Φ(x) from Numerical Recipes' erfcc (Chebyshev fit, fractional error below 1.2e-7), ample for a KS
    /// bound of 2e-3.</summary>
    private static double StandardNormalCdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    private static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
