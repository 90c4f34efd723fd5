using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.Mpi;
using AllReduceNet.MpiTestApp;

// Usage (one process per rank, under mpiexec):
//   suite [--large N] [--thread-level serialized]
//                      every collective against a sequential reference; prints a summary; exit 0 when all passed
//   mismatch           rank 0 passes one element fewer to AllReduce: a CollectiveMismatchException ends the job
//   throw              rank 1 throws while the others wait in a barrier: the MPI_Abort hook ends the job
//   init               only initializes MPI (with ALLREDUCENET_MPI_LIBRARY=/nonexistent, prints the error, exits 3)
var mode = args.Length > 0 ? args[0] : "suite";
string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
long large = long.Parse(Option("--large") ?? "1048576");
var threadLevel = Enum.Parse<MpiThreadLevel>(Option("--thread-level") ?? "multiple", ignoreCase: true);

if (mode == "init")
{
    try { MpiRuntime.Initialize(); }
    catch (MpiUnavailableException e)
    {
        Console.Error.WriteLine($"MpiUnavailableException: {e.Message}");
        return 3;
    }
    Console.WriteLine($"initialized {MpiRuntime.LibraryName}");
    MpiRuntime.Finalize();
    return 0;
}

var world = MpiRuntime.Initialize(threadLevel);
world.DefaultTimeout = TimeSpan.FromSeconds(60);
switch (mode)
{
    case "suite":
        int failures = new Suite(world, large).Run();
        MpiRuntime.Finalize();
        return failures == 0 ? 0 : 1;
    case "mismatch":
        ErrorScenarios.MismatchedCounts(world);
        break;
    case "throw":
        ErrorScenarios.ThrowingRank(world);
        break;
    default:
        MpiRuntime.Abort(2, $"unknown mode '{mode}'");
        break;
}
MpiRuntime.Finalize();
return 0;
