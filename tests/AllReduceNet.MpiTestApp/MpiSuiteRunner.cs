using System.Diagnostics;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Suite;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// The collective suite (<see cref="CaseMatrix"/>) bound to MPI: every rank runs the same cases in order, each checked
/// against the sequential reference and across ranks by <see cref="CaseRunner"/>; then what only MPI has (launch,
/// MPI_Wtime, point-to-point limits, splits). Wrong results are counted and the first ones printed; rank 0 prints a
/// summary. An exception ends the job through the MPI_Abort hook.
/// </summary>
internal sealed class MpiSuiteRunner(Communicator world, int largeCount)
{
    private readonly int _rank = world.Rank;
    private readonly int _size = world.Size;
    private readonly Tally _tally = new(world.Rank);

    public int Run()
    {
        var clock = Stopwatch.StartNew();
        double t0 = MpiRuntime.Wtime();
        Check(MpiRuntime.IsLaunchedByMpiexec && MpiRuntime.IsInitialized && ReferenceEquals(MpiRuntime.Initialize(), world),
              "launched by mpiexec, initialized, and Initialize returns the same world again");
        var cases = CaseMatrix.Standard(_size, SuiteTransport.Mpi)
            .Concat(CaseMatrix.Algorithms(SuiteTransport.Mpi).SelectMany(a => CaseMatrix.Large(a, largeCount)))
            .Concat(CaseMatrix.SizableOthers(_size));
        foreach (var c in cases)
        {
            var failure = CaseRunner.Run(world, c);
            Check(failure is null, failure);
        }
        Splits();
        PointToPoint();
        Misuse();

        Check(MpiRuntime.Wtime() > t0, "MPI_Wtime advances");
        long[] totals = [_tally.Failures, _tally.Checks];
        world.AllReduce<long>(totals, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Native });
        if (_rank == 0)
        {
            var shm = (world.Transport as MpiTransport)?.SharedMemory;
            Console.WriteLine($"MPI SUITE transport='{world.TransportName}' library={MpiRuntime.LibraryPath} abi={MpiRuntime.Abi} " +
                              $"shm-slots={(shm is null ? "none" : $"{shm.SlotCount}x{shm.SlotBytes}")} " +
                              $"thread-level={MpiRuntime.ThreadLevel} ranks={_size} checks={totals[1]} failures={totals[0]} " +
                              $"seconds={MpiRuntime.Wtime() - t0:F1} (stopwatch {clock.Elapsed.TotalSeconds:F1})");
            Console.WriteLine(totals[0] == 0 ? "MPI SUITE PASSED" : "MPI SUITE FAILED");
        }
        return (int)totals[0];
    }

    /// <summary>Even and odd ranks in reverse order; then every rank but 0 (rank 0 passes a negative color: null).</summary>
    private void Splits()
    {
        using (var half = world.Split(_rank % 2, -_rank)!)
        {
            var members = Enumerable.Range(0, _size).Where(r => r % 2 == _rank % 2).OrderByDescending(r => r).ToArray();
            Check(half.Size == members.Length && half.Rank == Array.IndexOf(members, _rank),
                $"Split by parity: rank {half.Rank} of {half.Size}, expected {Array.IndexOf(members, _rank)} of {members.Length}");
            long[] sum = [_rank];
            half.AllReduce<long>(sum, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring });
            Check(sum[0] == members.Sum(), $"AllReduce on a split: {sum[0]}, expected {members.Sum()}");
            long[] native = [_rank];
            half.AllReduce<long>(native, ReduceOp.Max, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Native });
            Check(native[0] == members.Max(), $"MPI_Allreduce on a split: {native[0]}, expected {members.Max()}");
        }
        using var rest = world.Split(_rank == 0 ? -1 : 0, _rank);
        Check(_rank == 0 ? rest is null : rest!.Size == _size - 1 && rest.Rank == _rank - 1, "Split with an undefined color");
        if (rest is not null) rest.Barrier();
    }

    private void PointToPoint()
    {
        // Every rank but 0 sends its rank to 0, which takes them in arrival order with AnySource.
        if (_rank == 0)
        {
            var seen = new HashSet<int>();
            var value = new int[1];
            for (int i = 1; i < _size; i++)
            {
                var status = world.Receive<int>(value, Communicator.AnySource, 7);
                Check(status.Tag == 7 && status.ByteCount == 4 && value[0] == status.Source * 10 && seen.Add(status.Source),
                    $"AnySource receive got {value[0]} from rank {status.Source} (tag {status.Tag}, {status.ByteCount} bytes)");
            }
        }
        else world.Send<int>([_rank * 10], 0, 7);

        // A ring shift with non-blocking calls, and one with SendReceive.
        int next = (_rank + 1) % _size, previous = (_rank + _size - 1) % _size;
        var inbox = new double[3000];
        var receive = world.Irecv<double>(inbox, previous, 21);
        var send = world.Isend<double>(TestValues.Input<double>(_rank, 3000, ReduceOp.Sum, seed: 0), next, 21);
        Request.WaitAll([receive, send], TimeSpan.FromSeconds(30));
        Check(TestValues.CheckEqual<double>(inbox, TestValues.Input<double>(previous, 3000, ReduceOp.Sum, seed: 0)) is null, "Isend/Irecv ring shift");
        var got = new long[2];
        var st = world.SendReceive<long>([_rank, -_rank], next, 22, got, previous, 22);
        Check(got[0] == previous && got[1] == -previous && st.Source == previous, "SendReceive ring shift");

        if (_size > 1)
        {
            // A message longer than the posted buffer: MPI_ERR_TRUNCATE becomes a CollectiveMismatchException.
            if (_rank == 1) world.Send<int>(new int[8], 0, 9);
            if (_rank == 0)
            {
                try
                {
                    world.Receive<int>(new int[4], 1, 9);
                    Check(false, "a truncated receive did not throw");
                }
                catch (CollectiveMismatchException e)
                {
                    Check(e.Message.Contains("longer than the 16-byte receive buffer"), $"truncation message: {e.Message}");
                }
                // A receive nobody sends to times out, and is withdrawn (MPI_Cancel) so its buffer is free again.
                try
                {
                    world.Receive<int>(new int[1], 1, 11, TimeSpan.FromMilliseconds(200));
                    Check(false, "a receive with no sender did not time out");
                }
                catch (CommunicationTimeoutException e)
                {
                    Check(e.Message.Contains("receive of up to 4 bytes from rank 1 (tag 11)"), $"timeout message: {e.Message}");
                }
            }
        }
        world.Barrier();
    }

    /// <summary>Errors that must be reported at the call, before any message is posted.</summary>
    private void Misuse()
    {
        // A send of more than int.MaxValue bytes is refused (MPI counts are C ints), and its pin is released.
        using (var huge = new UnbackedMemory<long>(int.MaxValue / 8 + 1))
        {
            try
            {
                world.Isend<long>(huge.Memory, (_rank + 1) % _size, 3);
                Check(false, "a send of more than int.MaxValue bytes was accepted");
            }
            catch (ArgumentOutOfRangeException e)
            {
                Check(e.Message.Contains($"rank {_rank}: a send of {(int.MaxValue / 8 + 1) * 8L} bytes"), $"oversized send message: {e.Message}");
            }
            Check(huge.Pins == 1 && huge.Unpins == 1, $"the oversized send's pin: {huge.Pins} pins, {huge.Unpins} unpins");
        }

        // A disposed communicator refuses every call.
        var spare = world.Split(0, _rank)!;
        spare.Dispose();
        try
        {
            spare.Barrier();
            Check(false, "a disposed communicator ran a barrier");
        }
        catch (ObjectDisposedException e)
        {
            Check(e.Message.Contains($"rank {_rank}"), $"disposed message: {e.Message}");
        }
    }

    private void Check(bool ok, string? what) => _tally.Check(ok, what ?? "");
}
