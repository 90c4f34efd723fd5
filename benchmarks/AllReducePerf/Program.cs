using AllReduceNet.Collectives;
using AllReduceNet.Perf;
using CommandLine;

// AllReducePerf: an nccl-tests style sweep of AllReduce, in-process (--ranks N) or under mpiexec.
var parsed = new Parser(s => { s.HelpWriter = Console.Out; s.CaseInsensitiveEnumValues = true; }).ParseArguments<PerfOptions>(args);
if (parsed is not Parsed<PerfOptions> { Value: var options }) return parsed.Errors.Any(e => e is HelpRequestedError or VersionRequestedError) ? 0 : 2;

if (options.PlotCsv is { } csvList)
{
    try
    {
        SvgPlot.Write(csvList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), options.SvgPath,
            "AllReduce busbw vs message size, 2 ranks (colour: algorithm, black = MPI_Allreduce; dashes: transport)");
        Console.WriteLine($"wrote {options.SvgPath}");
        return 0;
    }
    catch (Exception e) when (e is ArgumentException or IOException or FormatException)
    {
        Console.Error.WriteLine($"AllReducePerf: {e.Message}");
        return 2;
    }
}

SweepPlan plan;
try { plan = Planner.Build(options, Launcher.UnderMpi); }
catch (ArgumentException e)
{
    Console.Error.WriteLine($"AllReducePerf: {e.Message}");
    return 2;
}

return Launcher.Run(options, plan);
