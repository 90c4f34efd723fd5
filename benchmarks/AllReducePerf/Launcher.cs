using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;

namespace AllReduceNet.Perf;

/// <summary>Runs the sweep on every rank: threads of this process, or the processes of an mpiexec job.</summary>
public static class Launcher
{
    public static bool UnderMpi => false;

    public static int Run(PerfOptions options, SweepPlan plan)
    {
        List<ResultRow>? rows = null;
        try
        {
            var perRank = InProcessWorld.Run(options.Ranks, comm => RunOn(comm, options, plan));
            rows = perRank[0];
        }
        catch (RankFailedException e)
        {
            Console.Error.WriteLine($"AllReducePerf: {e.Message}");
            return 1;
        }
        return Report(rows, options);
    }

    private static List<ResultRow> RunOn(Communicator comm, PerfOptions options, SweepPlan plan)
    {
        if (comm.Rank == 0) ResultWriter.PrintHeader(comm.TransportName, comm.Size, options.Type.ToLowerInvariant(), plan.Op.ToString().ToLowerInvariant(), plan.Check);
        var rows = options.Type.ToLowerInvariant() switch
        {
            "double" => Sweep.Run<double>(comm, plan),
            "int" => Sweep.Run<int>(comm, plan),
            "long" => Sweep.Run<long>(comm, plan),
            "half" => Sweep.Run<Half>(comm, plan),
            _ => Sweep.Run<float>(comm, plan),
        };
        return rows;
    }

    private static int Report(List<ResultRow> rows, PerfOptions options)
    {
        ResultWriter.PrintRows(rows);
        if (options.CsvPath is { } csv) ResultWriter.WriteCsv(csv, rows);
        if (options.JsonPath is { } json) ResultWriter.WriteJson(json, rows);
        return rows.Any(r => r.Wrong != 0) ? 1 : 0;
    }
}
