using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.Mpi;
using AllReduceNet.MpiTestApp;

// Usage (one process per rank, under mpiexec):
//   suite [--large N] [--thread-level serialized]
//                      every collective against a sequential reference; prints a summary; exit 0 when all passed
//   splits             collectives on halves of the world, on the world between them, and both at once; prints a summary
//   mismatch           rank 0 passes one element fewer to AllReduce: a CollectiveMismatchException ends the job
//   mismatch-op        rank 0 reduces with Sum, the others with Max: a mismatch naming both signatures ends the job
//   mismatch-type      rank 0 reduces floats, the others ints of the same byte count: likewise
//   mismatch-collective rank 0 calls AllReduce, the others Broadcast: likewise
//   skip [broadcast]   the last rank skips an AllReduce (or, at 2 ranks with small shm slots, a Broadcast from rank 0)
//                      and sleeps: the others time out (ALLREDUCENET_TIMEOUT_SECONDS), a CommunicationTimeoutException ends the job
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
// ALLREDUCENET_TIMEOUT_SECONDS, where set, is the world's default timeout already (the skip scenario sets a short one).
if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("ALLREDUCENET_TIMEOUT_SECONDS")))
    world.DefaultTimeout = TimeSpan.FromSeconds(60);
switch (mode)
{
    case "suite":
        int failures = new Suite(world, large).Run();
        MpiRuntime.Finalize();
        return failures == 0 ? 0 : 1;
    case "splits":
        int splitFailures = new SplitScenario(world).Run();
        MpiRuntime.Finalize();
        return splitFailures == 0 ? 0 : 1;
    case "mismatch":
        ErrorScenarios.MismatchedCounts(world);
        break;
    case "mismatch-op":
        ErrorScenarios.MismatchedOperators(world);
        break;
    case "mismatch-type":
        ErrorScenarios.MismatchedTypes(world);
        break;
    case "mismatch-collective":
        ErrorScenarios.MismatchedCollectives(world);
        break;
    case "skip":
        ErrorScenarios.SkippedCollective(world, broadcast: args.Contains("broadcast"));
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
