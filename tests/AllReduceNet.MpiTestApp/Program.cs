using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Suite;
using AllReduceNet.Collectives.Transports.Mpi;
using AllReduceNet.MpiTestApp;

// Usage (one process per rank, under mpiexec):
//   suite [--large N] [--thread-level serialized]
//                      the collective suite (CaseMatrix) and MPI's own checks; prints a summary; exit 0 when all passed
//   splits             collectives on halves of the world, on the world between them, and both at once; prints a summary
//   mismatch KIND ALGORITHM COUNT ODD-RANK
//                      a MismatchScenario (Count, Operator, ElementType, Collective, Throws): the first rank that fails
//                      ends the job through the MPI_Abort hook, long before the world's timeout
//   skip [broadcast]   the last rank skips an AllReduce (or, at 2 ranks with small shm slots, a Broadcast from rank 0)
//                      and sleeps: the others time out (ALLREDUCENET_TIMEOUT_SECONDS), a CommunicationTimeoutException ends the job
//   forget-split       AllReduce on a split communicator that is never disposed, then Finalize: nothing of it may be
//                      left pending at MPI_Finalize (its failure-notice receive is withdrawn there)
//   masked             the masked AllReduce (AllReduceNet.Privacy) against the plain quantized sum on every algorithm,
//                      and the int Sum's wrap-around; prints a summary; exit 0 when all passed
//   cluster [--large N] the multi-node suite (ClusterScenario): ring, hierarchical, Auto, native; the topology; prints a summary
//   link-faults DIR ITERATIONS COUNT [ALGORITHM]
//                      AllReduces in a loop while a test disturbs the link (LinkFaultScenario); each rank reports to DIR/rank-R.txt
//   init               only initializes MPI (with ALLREDUCENET_MPI_LIBRARY=/nonexistent, prints the error, exits 3)
//   reproducible       the reproducible sum and AllReduce, bitwise against one rank alone and across algorithms
//                      (the world size must divide 16); prints a summary; exit 0 when all passed
//   finalize-late SECONDS
//                      the last rank meets the others at the barrier that MpiRuntime.Finalize begins with, then stays out of
//                      MPI_Finalize for SECONDS; the others finalize with exit code 7, and since their MPI_Finalize waits
//                      for the last rank, the finalize watchdog (ALLREDUCENET_FINALIZE_TIMEOUT_SECONDS) must end them
var mode = args.Length > 0 ? args[0] : "suite";
// Every mode that finishes hands its exit code to Finalize: the code the process has should MPI_Finalize not return.
int Finish(int code)
{
    MpiRuntime.Finalize(code);
    return code;
}
string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
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
        int failures = new MpiSuiteRunner(world, int.Parse(Option("--large") ?? "1048576")).Run();
        return Finish(failures == 0 ? 0 : 1);
    case "splits":
        int splitFailures = new SplitScenario(world).Run();
        return Finish(splitFailures == 0 ? 0 : 1);
    case "cluster":
        int clusterFailures = new ClusterScenario(world, int.Parse(Option("--large") ?? "1048576")).Run();
        return Finish(clusterFailures == 0 ? 0 : 1);
    case "link-faults":
        int faultFailures = LinkFaultScenario.Run(world, args[1], int.Parse(args[2]), int.Parse(args[3]),
            args.Length > 4 ? Enum.Parse<AllReduceAlgorithm>(args[4]) : AllReduceAlgorithm.Auto);
        return Finish(faultFailures);
    case "masked":
        int maskedFailures = new MaskedScenario(world).Run();
        return Finish(maskedFailures == 0 ? 0 : 1);
    case "reproducible":
        int reproducibleFailures = new ReproducibleScenario(world).Run();
        return Finish(reproducibleFailures == 0 ? 0 : 1);
    case "mismatch":
        new MismatchScenario(Enum.Parse<MismatchKind>(args[1]), Enum.Parse<AllReduceAlgorithm>(args[2]), int.Parse(args[3]), int.Parse(args[4])).Run(world);
        Console.WriteLine($"rank {world.Rank}: the mismatched collective and the barrier after it returned, which they must not");
        MpiRuntime.Abort(4, "a mismatched collective returned");
        break;
    case "skip":
        ErrorScenarios.SkippedCollective(world, broadcast: args.Contains("broadcast"));
        break;
    case "finalize-late":
        if (world.Rank < world.Size - 1) return Finish(7);
        world.Barrier(); // the barrier the others' Finalize begins with
        int late = int.Parse(args[1]);
        Console.WriteLine($"rank {world.Rank}: staying out of MPI_Finalize for {late} s");
        Thread.Sleep(TimeSpan.FromSeconds(late));
        Console.WriteLine($"rank {world.Rank}: woke after {late} s; exiting without MPI_Finalize");
        return 0;
    case "forget-split":
        var half = world.Split(world.Rank % 2, world.Rank)!;
        var ones = new float[1000];
        ones.AsSpan().Fill(1);
        half.AllReduce<float>(ones, ReduceOp.Sum);
        Console.WriteLine($"rank {world.Rank}: {ones[0]} from a split of {half.Size}");
        break;
    default:
        MpiRuntime.Abort(2, $"unknown mode '{mode}'");
        break;
}
return Finish(0);
