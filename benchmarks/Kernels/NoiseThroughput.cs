using System.Diagnostics;
using System.Globalization;

namespace AllReduceNet.Kernels.Benchmarks;

/// <summary>
/// Normals per second of <see cref="PrivacyOps.AddGaussianNoise"/> on the CPU backend, with one thread and with all
/// of them, over a DP-SGD-sized tensor (the MLP 784,256,128,10's 235,146 parameters). A plain stopwatch loop (median
/// of repetitions), not BenchmarkDotNet, so that it takes seconds: `dotnet run -c Release -- noise`.
/// </summary>
internal static class NoiseThroughput
{
    public const int Parameters = 235_146;

    public static void Run()
    {
        foreach (int threads in new[] { 1, Environment.ProcessorCount })
        {
            using var backend = KernelBackends.Create("cpu", threads);
            using var buffer = backend.Allocate<float>(Parameters);
            var seconds = new List<double>();
            for (int repetition = 0; repetition < 15; repetition++)
            {
                var watch = Stopwatch.StartNew();
                for (int step = 0; step < 20; step++)
                    backend.AddGaussianNoise(buffer, 1f, new Seed128(1, 2, (uint)repetition, (uint)step));
                seconds.Add(watch.Elapsed.TotalSeconds);
            }
            seconds.Sort();
            double normalsPerSecond = 20.0 * Parameters / seconds[seconds.Count / 2];
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "AddGaussianNoise, {0} thread(s), {1} normals per call: {2:F1} M normals/s (median of 15 x 20 calls)",
                threads, Parameters, normalsPerSecond / 1e6));
        }
    }
}
