using AllReduceNet.Collectives;

namespace AllReduceNet.Perf;

/// <summary>Turns the command line into a sweep plan, with errors that name the bad option.</summary>
public static class Planner
{
    public static SweepPlan Build(PerfOptions options, bool underMpi)
    {
        long min = SizeParser.Parse(options.MinBytes, "min-bytes"), max = SizeParser.Parse(options.MaxBytes, "max-bytes");
        if (min < 1 || max < min) throw new ArgumentException($"--min-bytes {options.MinBytes} and --max-bytes {options.MaxBytes} must satisfy 1 <= min <= max.");
        if (max > 1L << 30) throw new ArgumentException($"--max-bytes {options.MaxBytes} is over the 1G this tool allows per rank.");
        if (options.StepFactor < 2) throw new ArgumentException($"--step-factor must be at least 2, but was {options.StepFactor}.");
        if (options.Iterations is < 1) throw new ArgumentException($"--iters must be at least 1, but was {options.Iterations}.");
        if (options.Warmup < 0) throw new ArgumentException($"--warmup must be 0 or more, but was {options.Warmup}.");
        if (!underMpi && options.Ranks < 1) throw new ArgumentException($"--ranks must be at least 1, but was {options.Ranks}.");
        var sizes = new List<long>();
        for (long s = min; s <= max; s *= options.StepFactor) sizes.Add(s);

        var names = (options.Algorithms ?? (underMpi ? "native,ring,tree,rd,auto" : "ring,tree,rd,direct,auto"))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var algorithms = names.Select(n => n.ToLowerInvariant() switch
        {
            "ring" => AllReduceAlgorithm.Ring,
            "tree" => AllReduceAlgorithm.Tree,
            "rd" or "recursive-doubling" => AllReduceAlgorithm.RecursiveDoubling,
            "rh" or "recursive-halving" => AllReduceAlgorithm.RecursiveHalving,
            "auto" => AllReduceAlgorithm.Auto,
            "hierarchical" or "hier" => AllReduceAlgorithm.Hierarchical,
            "direct" => !underMpi ? AllReduceAlgorithm.Direct
                : throw new ArgumentException("--algorithms direct reads the other ranks' buffers, which needs the in-process transport (--ranks N, without mpiexec)."),
            "native" or "mpi" => underMpi ? AllReduceAlgorithm.Native
                : throw new ArgumentException("--algorithms native needs the MPI transport: run under mpiexec."),
            _ => throw new ArgumentException($"--algorithms: '{n}' is not one of ring, tree, rd (recursive doubling), rh (recursive halving), direct, hierarchical, auto, native."),
        }).ToList();

        var op = options.Op.ToLowerInvariant() switch
        {
            "sum" => ReduceOp.Sum,
            "prod" => ReduceOp.Prod,
            "min" => ReduceOp.Min,
            "max" => ReduceOp.Max,
            "avg" or "average" => ReduceOp.Average,
            _ => throw new ArgumentException($"--op '{options.Op}' is not one of sum, prod, min, max, average."),
        };
        if (options.Type.ToLowerInvariant() is not ("float" or "double" or "int" or "long" or "half"))
            throw new ArgumentException($"--type '{options.Type}' is not one of float, double, int, long, half.");
        return new SweepPlan(sizes, algorithms, op, options.Iterations ?? 20, options.Iterations is null, options.Warmup, options.Check ?? true, !options.NoMemcpy, options.Reproducible, options.Interleave);
    }
}
