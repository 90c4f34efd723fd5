using System.Globalization;
using System.Text;
using AllReduceNet.Kernels.Benchmarks;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

// Short in-process job: 3 warm-ups, 15 measured iterations of ~250 ms. Memory bandwidth on a shared VM is noisy, so
// the tables use each benchmark's median. The whole run takes about three minutes on 2 cores.
// `mlp [threads,...] [seconds]`: the training step's matrix products and the whole step, in seconds (MlpShapes).
if (args.Length > 0 && args[0] == "mlp")
{
    int[] threads = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [1, 2];
    MlpShapes.Run(threads, args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 4);
    return;
}
if (args is ["noise"])
{
    NoiseThroughput.Run();
    return;
}

var job = Job.ShortRun.WithWarmupCount(3).WithIterationCount(15).WithIterationTime(TimeInterval.FromMilliseconds(250))
    .WithToolchain(InProcessEmitToolchain.Instance);
var config = ManualConfig.CreateMinimumViable().AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator);
string output = args.Length > 0 ? args[0] : "BenchmarkDotNet.Artifacts/kernels-summary.md";
string loadBefore = LoadAverage();

var streaming = BenchmarkRunner.Run<StreamingBenchmarks>(config);
var clipJob = Job.ShortRun.WithWarmupCount(3).WithIterationCount(25).WithToolchain(InProcessEmitToolchain.Instance);
var clip = BenchmarkRunner.Run<ClipBenchmarks>(ManualConfig.CreateMinimumViable().AddJob(clipJob).WithOptions(ConfigOptions.DisableOptimizationsValidator));
var matmul = BenchmarkRunner.Run<MatMulBenchmarks>(config);
var emulated = BenchmarkRunner.Run<IlgpuCpuBenchmarks>(config);

static double MedianNs(Summary s, string method) =>
    s.Reports.Single(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method).ResultStatistics!.Median;

var inv = CultureInfo.InvariantCulture;
var md = new StringBuilder();
double memcpy1 = StreamingBenchmarks.BytesMoved["MemcpySingleThread"] / MedianNs(streaming, "MemcpySingleThread");
double memcpyP = StreamingBenchmarks.BytesMoved["MemcpyParallel"] / MedianNs(streaming, "MemcpyParallel");
double memcpy = Math.Max(memcpy1, memcpyP); // bytes per ns = GB/s; the better memcpy is the baseline
md.AppendLine("| CPU kernel, 64 MiB buffers | median ms | GB/s (reads + writes) | x memcpy |");
md.AppendLine("|---|---:|---:|---:|");
foreach (var (name, bytes) in StreamingBenchmarks.BytesMoved)
{
    double ns = MedianNs(streaming, name);
    double gbs = bytes / ns;
    md.AppendLine(string.Format(inv, "| {0} | {1:F2} | {2:F1} | {3:F2} |", name, ns / 1e6, gbs, gbs / memcpy));
}
{
    double ns = MedianNs(clip, "ClipRows");
    double gbs = ClipBenchmarks.BytesMoved / ns;
    md.AppendLine(string.Format(inv, "| ClipRows (every row clipped) | {0:F2} | {1:F1} | {2:F2} |", ns / 1e6, gbs, gbs / memcpy));
}
md.AppendLine();
md.AppendLine(string.Format(inv, "memcpy baseline = max(single-thread {0:F1}, parallel {1:F1}) = {2:F1} GB/s", memcpy1, memcpyP, memcpy));
md.AppendLine();

// Peak, two ways: nominal (cores x 2 FMA pipes x 8 float lanes x 2 flops x the clock /proc/cpuinfo reports) and
// measured (FmaPeak: independent FMA chains on every core, in this run, at whatever clock the cores reach).
double ghz = NominalGHz();
double nominalPeak = Environment.ProcessorCount * 2 * 8 * 2 * ghz;
double measuredPeak = FmaPeak.MeasureGflops();
double peak = double.IsNaN(measuredPeak) ? nominalPeak : Math.Max(measuredPeak, nominalPeak);
md.AppendLine("| CPU matrix product | m x k x n | median ms | GFLOP/s | x peak |");
md.AppendLine("|---|---|---:|---:|---:|");
foreach (var (name, (m, k, n)) in MatMulBenchmarks.Shapes)
{
    double ns = MedianNs(matmul, name);
    double gflops = 2.0 * m * k * n / ns;
    md.AppendLine(string.Format(inv, "| {0} | {1} x {2} x {3} | {4:F2} | {5:F1} | {6:F2} |", name, m, k, n, ns / 1e6, gflops, gflops / peak));
}
md.AppendLine();
md.AppendLine(string.Format(inv, "peak = max(nominal {0} cores x 2 FMA x 8 lanes x 2 flops x {1:F3} GHz = {2:F1}, measured AVX2 FMA chains on all cores = {3:F1}) = {4:F1} GFLOP/s",
    Environment.ProcessorCount, ghz, nominalPeak, measuredPeak, peak));

md.AppendLine();
md.AppendLine(string.Format(inv, "SGD step over {0}M floats: CPU path {1:F2} ms, ILGPU CPU accelerator (grid-stride kernel, emulated threads) {2:F2} ms",
    IlgpuCpuBenchmarks.Elements >> 20, MedianNs(emulated, "SgdCpuPath") / 1e6, MedianNs(emulated, "SgdIlgpuCpuAccelerator") / 1e6));
md.AppendLine();
md.AppendLine($"load average (1, 5, 15 min) before: {loadBefore}; after: {LoadAverage()}");

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
File.WriteAllText(output, md.ToString());
Console.WriteLine();
Console.WriteLine(md.ToString());

static string LoadAverage()
{
    try
    {
        return string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static double NominalGHz()
{
    // /proc/cpuinfo "cpu MHz" is the nominal clock under KVM; fall back to BogoMIPS / 2.
    try
    {
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
        {
            if (line.StartsWith("cpu MHz", StringComparison.Ordinal))
                return double.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture) / 1000.0;
        }
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
        {
            if (line.StartsWith("bogomips", StringComparison.Ordinal))
                return double.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture) / 2000.0;
        }
    }
    catch (IOException)
    {
    }
    return 2.6;
}
