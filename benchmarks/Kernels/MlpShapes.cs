using System.Diagnostics;
using System.Globalization;

namespace AllReduceNet.Kernels.Benchmarks;

/// <summary>
/// `mlp` mode: the matrix products of one training step of the default MLP (784-256-128-10, batch 128: the forward
/// X W, the weight gradients X^T dz and the input gradients dz W^T), then the whole step on the kernels alone
/// (forward, softmax cross-entropy, backward, momentum SGD), on 1 and 2 threads. Each call is timed on its own and
/// the table gives the 5th percentile beside the median: on a shared machine, preemption inflates the median, while
/// the fast tail still shows what the kernel costs. A few seconds in all, so before/after comparisons can alternate.
/// </summary>
internal static class MlpShapes
{
    private static readonly (string Name, int M, int K, int N, bool TransposeA, bool TransposeB)[] Products =
    [
        ("forward layer 1: X W", 128, 784, 256, false, false),
        ("forward layer 2", 128, 256, 128, false, false),
        ("forward layer 3", 128, 128, 10, false, false),
        ("weight gradient 1: X^T dz", 784, 128, 256, true, false),
        ("weight gradient 2", 256, 128, 128, true, false),
        ("weight gradient 3", 128, 128, 10, true, false),
        ("input gradient 2: dz W^T", 128, 128, 256, false, true),
        ("input gradient 3", 128, 10, 128, false, true),
    ];

    public static void Run(int[] threadCounts, double secondsEach)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"load average before: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| threads | product | m x k x n | p5 us | p5 GFLOP/s | median us | median GFLOP/s |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|");
        foreach (int threads in threadCounts)
        {
            using var cpu = KernelBackends.Create("cpu", threads);
            var random = new Random(1);
            double stepP5 = 0;
            foreach (var (name, m, k, n, ta, tb) in Products)
            {
                using var a = Upload(cpu, random, m * k, 1f);
                using var b = Upload(cpu, random, k * n, 1f);
                using var c = cpu.Allocate<float>(m * n);
                var (p5, median) = Time(() => cpu.MatMul(a, b, c, m, k, n, ta, tb), secondsEach / Products.Length);
                stepP5 += p5;
                double flops = 2.0 * m * k * n;
                Console.WriteLine(string.Format(inv, "| {0} | {1} | {2} x {3} x {4} | {5:F1} | {6:F1} | {7:F1} | {8:F1} |",
                    threads, name, m, k, n, p5 * 1e6, flops / p5 / 1e9, median * 1e6, flops / median / 1e9));
            }
            Console.WriteLine(string.Format(inv, "| {0} | sum of the step's products | | {1:F1} | | | |", threads, stepP5 * 1e6));
        }
        Console.WriteLine();
        Console.WriteLine("| threads | whole step on the kernels | p5 us | samples/s at p5 | median us | samples/s at median |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (int threads in threadCounts)
        {
            var (p5, median) = StepTime(threads, secondsEach);
            Console.WriteLine(string.Format(inv, "| {0} | forward, loss, backward, SGD | {1:F0} | {2:F0} | {3:F0} | {4:F0} |",
                threads, p5 * 1e6, 128 / p5, median * 1e6, 128 / median));
        }
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static DeviceBuffer<float> Upload(IKernelBackend backend, Random random, int count, float scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = ((float)random.NextDouble() - 0.5f) * scale;
        var buffer = backend.Allocate<float>(count);
        buffer.CopyFrom(values);
        return buffer;
    }

    private static (double P5, double Median) Time(Action call, double seconds)
    {
        for (int i = 0; i < 100; i++) call();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || times.Count < 20)
        {
            long start = Stopwatch.GetTimestamp();
            call();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        times.Sort();
        return (times[times.Count / 20], times[times.Count / 2]);
    }

    private static (double P5, double Median) StepTime(int threads, double seconds)
    {
        using var cpu = KernelBackends.Create("cpu", threads);
        int[] sizes = [784, 256, 128, 10];
        const int Batch = 128, Layers = 3;
        var random = new Random(3);
        var buffers = new List<DeviceBuffer<float>>();
        DeviceBuffer<float> Make(int count, float scale)
        {
            var buffer = Upload(cpu, random, count, scale);
            buffers.Add(buffer);
            return buffer;
        }
        var x = Make(Batch * sizes[0], 2f);
        using var labels = cpu.Allocate<int>(Batch);
        labels.CopyFrom(Enumerable.Range(0, Batch).Select(i => i % sizes[^1]).ToArray());
        var w = new DeviceBuffer<float>[Layers]; var bias = new DeviceBuffer<float>[Layers];
        var gw = new DeviceBuffer<float>[Layers]; var gb = new DeviceBuffer<float>[Layers];
        var vw = new DeviceBuffer<float>[Layers]; var vb = new DeviceBuffer<float>[Layers];
        var outputs = new DeviceBuffer<float>[Layers]; var gradients = new DeviceBuffer<float>[Layers];
        for (int l = 0; l < Layers; l++)
        {
            w[l] = Make(sizes[l] * sizes[l + 1], 0.1f); bias[l] = Make(sizes[l + 1], 0.01f);
            gw[l] = Make(sizes[l] * sizes[l + 1], 0f); gb[l] = Make(sizes[l + 1], 0f);
            vw[l] = Make(sizes[l] * sizes[l + 1], 0f); vb[l] = Make(sizes[l + 1], 0f);
            outputs[l] = Make(Batch * sizes[l + 1], 0f); gradients[l] = Make(Batch * sizes[l + 1], 0f);
        }
        var sgd = new SgdOptions(0.01f, 0.9f, 0f);
        void Step()
        {
            var h = x;
            for (int l = 0; l < Layers; l++)
            {
                cpu.DenseForward(h, w[l], bias[l], outputs[l], Batch, sizes[l], sizes[l + 1], l < Layers - 1);
                h = outputs[l];
            }
            cpu.SoftmaxCrossEntropy(outputs[^1], labels, gradients[^1], Batch, sizes[^1]);
            for (int l = Layers - 1; l >= 0; l--)
                cpu.DenseBackward(l == 0 ? x : outputs[l - 1], w[l], outputs[l], gradients[l], l == 0 ? null : gradients[l - 1],
                    gw[l], gb[l], Batch, sizes[l], sizes[l + 1], l < Layers - 1);
            for (int l = 0; l < Layers; l++)
            {
                cpu.SgdStep(w[l], gw[l], vw[l], sgd);
                cpu.SgdStep(bias[l], gb[l], vb[l], sgd);
            }
        }
        try
        {
            return Time(Step, seconds);
        }
        finally
        {
            foreach (var buffer in buffers) buffer.Dispose();
        }
    }
}
