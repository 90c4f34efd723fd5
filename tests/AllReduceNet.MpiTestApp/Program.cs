using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.Mpi;
using AllReduceNet.MpiTestApp;

// Usage (one process per rank, under mpiexec):
//   suite [--large N]  every collective against a sequential reference; prints a summary; exit 0 when all passed
//   mismatch           rank 0 passes one element fewer to AllReduce: a CollectiveMismatchException ends the job
//   throw              rank 1 throws while the others wait in a barrier: the MPI_Abort hook ends the job
//   init               only initializes MPI (with ALLREDUCENET_MPI_LIBRARY=/nonexistent, prints the error, exits 3)
var mode = args.Length > 0 ? args[0] : "suite";
long large = args.Length > 2 && args[1] == "--large" ? long.Parse(args[2]) : 1 << 20;

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

var world = MpiRuntime.Initialize();
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
