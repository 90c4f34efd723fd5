using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// dotnet run -c Release --project benchmarks/Collectives -- --filter '*AllReduce*'
// A short in-process job: the peer ranks are threads of this process, so the benchmark must run in it too.
var job = Job.ShortRun.WithWarmupCount(2).WithIterationCount(5).WithToolchain(InProcessEmitToolchain.Instance);
var config = DefaultConfig.Instance.AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
BenchmarkSwitcher.FromAssembly(typeof(AllReduceNet.Collectives.Benchmarks.PeerRanks).Assembly).Run(args, config);
