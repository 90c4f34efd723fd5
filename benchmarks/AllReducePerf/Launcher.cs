using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.Perf;

/// <summary>Runs the sweep on every rank: threads of this process, or the processes of an mpiexec job.</summary>
public static class Launcher
{
    /// <summary>True when mpiexec started this process: then the ranks are the job's processes.</summary>
    public static bool UnderMpi => MpiRuntime.IsLaunchedByMpiexec;

    public static int Run(PerfOptions options, SweepPlan plan) => UnderMpi ? RunUnderMpi(options, plan) : RunInProcess(options, plan);

    private static int RunUnderMpi(PerfOptions options, SweepPlan plan)
    {
        // ALLREDUCENET_MPI_THREAD_LEVEL=serialized lets the sweep compare the library's thread levels.
        var level = Environment.GetEnvironmentVariable("ALLREDUCENET_MPI_THREAD_LEVEL")?.ToLowerInvariant() switch
        {
            "serialized" => MpiThreadLevel.Serialized,
            "funneled" => MpiThreadLevel.Funneled,
            "single" => MpiThreadLevel.Single,
            _ => MpiThreadLevel.Multiple,
        };
        var world = MpiRuntime.Initialize(level);
        try
        {
            var rows = RunOn(world, options, plan);
            int code = world.Rank == 0 ? Report(rows, options) : 0;
            world.Barrier();
            return code;
        }
        catch (Exception e)
        {
            MpiRuntime.Abort(1, $"AllReducePerf failed: {e.GetType().Name}: {e.Message}");
            return 1;
        }
        finally
        {
            MpiRuntime.Finalize();
        }
    }

    private static int RunInProcess(PerfOptions options, SweepPlan plan)
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
