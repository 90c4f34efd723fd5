using CommandLineParser = CommandLine;

namespace AllReduceNet.Perf;

/// <summary>The sweep's command line, modelled on nccl-tests' all_reduce_perf (-b, -e, -f, -n, -w).</summary>
public sealed class PerfOptions
{
    [CommandLineParser.Option("ranks", HelpText = "In-process ranks (threads). Ignored under mpiexec, where the ranks are the processes. Default 2.")]
    public int Ranks { get; set; } = 2;

    [CommandLineParser.Option('b', "min-bytes", HelpText = "Smallest message, e.g. 8, 64K, 1M. Default 8.")]
    public string MinBytes { get; set; } = "8";

    [CommandLineParser.Option('e', "max-bytes", HelpText = "Largest message, e.g. 256M. Default 256M.")]
    public string MaxBytes { get; set; } = "256M";

    [CommandLineParser.Option('f', "step-factor", HelpText = "Multiply the size by this between steps. Default 2.")]
    public int StepFactor { get; set; } = 2;

    [CommandLineParser.Option('n', "iters", HelpText = "Timed iterations per size (fewer are run for large sizes, never below 3). Default: 20, and for small messages enough to move about 64 MiB (at most 2000), so microsecond timings are not one hiccup.")]
    public int? Iterations { get; set; }

    [CommandLineParser.Option('w', "warmup", HelpText = "Untimed iterations per size. Default 3.")]
    public int Warmup { get; set; } = 3;

    [CommandLineParser.Option('a', "algorithms", HelpText = "Comma-separated: ring, tree, rd (recursive doubling), direct (in-process only: reads the peers' buffers), hierarchical (node-local reduce-scatter, ring across nodes, node-local all-gather), auto, native (MPI_Allreduce; MPI only). Default: ring,tree,rd,direct,auto in-process; native,ring,tree,rd,auto under MPI.")]
    public string? Algorithms { get; set; }

    [CommandLineParser.Option('t', "type", HelpText = "Element type: float, double, int, long, half. Default float.")]
    public string Type { get; set; } = "float";

    [CommandLineParser.Option('o', "op", HelpText = "Reduction: sum, prod, min, max, average. Default sum.")]
    public string Op { get; set; } = "sum";

    [CommandLineParser.Option("check", HelpText = "Check every size's result against the expected values (the #wrong column). Default true.")]
    public bool? Check { get; set; }

    [CommandLineParser.Option("csv", HelpText = "Also write the rows as CSV to this file.")]
    public string? CsvPath { get; set; }

    [CommandLineParser.Option("json", HelpText = "Also write the rows as JSON to this file.")]
    public string? JsonPath { get; set; }

    [CommandLineParser.Option("plot", HelpText = "Instead of a sweep: draw busbw against size from these comma-separated CSV files into --svg.")]
    public string? PlotCsv { get; set; }

    [CommandLineParser.Option("svg", HelpText = "The SVG file --plot writes. Default busbw.svg.")]
    public string SvgPath { get; set; } = "busbw.svg";

    [CommandLineParser.Option("reproducible", HelpText = "Also time every algorithm with CollectiveOptions.Reproducible (float/double sum and average; rows named ALGORITHM+repro). Busbw counts the element type's bytes, as for the plain rows.")]
    public bool Reproducible { get; set; }

    [CommandLineParser.Option("interleave", HelpText = "Time the algorithms call by call in turn at each size (a barrier before each call) and report each one's median call, the slowest rank's, instead of the mean of a block of calls: ratios between algorithms that hold on a machine shared with other work.")]
    public bool Interleave { get; set; }

    [CommandLineParser.Option("no-memcpy", HelpText = "Skip the memcpy bandwidth column.")]
    public bool NoMemcpy { get; set; }
}
