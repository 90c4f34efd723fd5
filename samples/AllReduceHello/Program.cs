// AllReduceNet from its packages: an AllReduce over in-process ranks, or over the processes of `mpiexec -n N`,
// then the rank's share scaled by a CPU kernel. Prints one line per rank and exits 1 if any result is wrong.
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.InProcess;
using AllReduceNet.Collectives.Transports.Mpi;
using AllReduceNet.Kernels;

int ranks = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 4;
bool[] ok;
if (MpiRuntime.IsLaunchedByMpiexec)
{
    var world = MpiRuntime.Initialize();
    ok = [Hello(world, "mpi")];
    MpiRuntime.Finalize();
}
else ok = InProcessWorld.Run(ranks, comm => Hello(comm, "in-process"));
return ok.All(x => x) ? 0 : 1;

static bool Hello(Communicator comm, string how)
{
    const int count = 1000;
    var values = new float[count];
    Array.Fill(values, comm.Rank + 1);
    comm.AllReduce(values.AsSpan(), ReduceOp.Sum);           // each element: 1 + 2 + ... + N
    using var backend = KernelBackends.Create("cpu", 1);
    using var buffer = backend.Upload<float>(values);
    backend.Scale(buffer, 2f / (comm.Size * (comm.Size + 1)));  // back to 1.0
    buffer.CopyTo(values);
    bool right = values.All(v => v == 1f);
    Console.WriteLine($"rank {comm.Rank} of {comm.Size} ({how}): AllReduce {(right ? "ok" : "WRONG")}");
    return right;
}
