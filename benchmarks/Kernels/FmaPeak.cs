using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AllReduceNet.Kernels.Benchmarks;

/// <summary>
/// Measures the machine's single-precision peak in the same run: one thread per core, each running twelve independent
/// chains of 256-bit FMAs (enough to cover FMA latency x throughput), so the clock actually reached (turbo included)
/// is what counts, not the nominal one.
/// </summary>
public static class FmaPeak
{
    public static double MeasureGflops()
    {
        if (!Fma.IsSupported) return double.NaN;
        const long iterations = 20_000_000;
        double best = 0;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, Environment.ProcessorCount, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, _ => Chains(iterations));
            double seconds = sw.Elapsed.TotalSeconds;
            double flops = Environment.ProcessorCount * (double)iterations * 12 * 8 * 2;
            best = Math.Max(best, flops / seconds / 1e9);
        }
        return best;
    }

    private static float Chains(long iterations)
    {
        var x = Vector256.Create(0.999999f);
        var y = Vector256.Create(1e-7f);
        Vector256<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, x, y); a1 = Fma.MultiplyAdd(a1, x, y); a2 = Fma.MultiplyAdd(a2, x, y);
            a3 = Fma.MultiplyAdd(a3, x, y); a4 = Fma.MultiplyAdd(a4, x, y); a5 = Fma.MultiplyAdd(a5, x, y);
            a6 = Fma.MultiplyAdd(a6, x, y); a7 = Fma.MultiplyAdd(a7, x, y); a8 = Fma.MultiplyAdd(a8, x, y);
            a9 = Fma.MultiplyAdd(a9, x, y); a10 = Fma.MultiplyAdd(a10, x, y); a11 = Fma.MultiplyAdd(a11, x, y);
        }
        var s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return s.GetElement(0);
    }
}
