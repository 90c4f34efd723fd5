using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// Runs every collective over the world and compares each result with <see cref="TestData.Reference{T}"/>, folds
/// every result into a hash that must be the same on every rank, and prints a summary from rank 0. A wrong value is
/// counted (and the first ones printed); an exception ends the job through the MPI_Abort hook.
/// </summary>
internal sealed class Suite(Communicator world, long largeCount)
{
    private static readonly ReduceOp[] Ops = [ReduceOp.Sum, ReduceOp.Prod, ReduceOp.Min, ReduceOp.Max, ReduceOp.Average];
    private static readonly CollectiveOptions Small = new() { SegmentBytes = 1024 };

    private readonly int _rank = world.Rank;
    private readonly int _size = world.Size;
    private readonly Tally _tally = new(world.Rank);
    private ulong _hash = 14695981039346656037UL;

    public int Run()
    {
        var clock = Stopwatch.StartNew();
        double t0 = MpiRuntime.Wtime();
        Check(MpiRuntime.IsLaunchedByMpiexec && MpiRuntime.IsInitialized && ReferenceEquals(MpiRuntime.Initialize(), world),
              "launched by mpiexec, initialized, and Initialize returns the same world again");
        long[] counts = [0, 1, Math.Max(1, _size - 1), _size + 1, 1000 * _size + 37];
        foreach (var algorithm in new[] { AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.Native, AllReduceAlgorithm.Auto })
        {
            foreach (var op in Ops)
                foreach (var count in counts)
                {
                    AllReduce<float>(algorithm, op, count, Small);
                    AllReduce<double>(algorithm, op, count, Small);
                    AllReduce<int>(algorithm, op, count, Small);
                    AllReduce<long>(algorithm, op, count, Small);
                    if (algorithm is AllReduceAlgorithm.Ring or AllReduceAlgorithm.Tree)
                        AllReduce<Half>(algorithm, op, count, Small);
                }
            AllReduce<float>(algorithm, ReduceOp.Sum, largeCount, null);
            AllReduce<double>(algorithm, ReduceOp.Average, largeCount / 2 + 3, null);
        }
        OutOfPlaceMatchesNative();
        Bytes();
        DirectIsRefusedAcrossProcesses();
        Broadcasts();
        Reduces();
        AllGathers();
        ReduceScatters();
        Barriers();
        Splits();
        PointToPoint();
        Misuse();
        SameHashEverywhere();

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

    private void AllReduce<T>(AllReduceAlgorithm algorithm, ReduceOp op, long count, CollectiveOptions? options) where T : unmanaged, INumber<T>
    {
        var data = TestData.Fill<T>(_rank, count, op);
        world.AllReduce<T>(data, op, (options ?? CollectiveOptions.Default) with { Algorithm = algorithm });
        Expect(data, TestData.Reference<T>(_size, count, op), $"AllReduce {algorithm} {typeof(T).Name} {op} count {count}");
    }

    /// <summary>Out of place, the ring's result must equal MPI_Allreduce's bit for bit (the data reduce exactly).</summary>
    private void OutOfPlaceMatchesNative()
    {
        const int count = 4099;
        var input = TestData.Fill<float>(_rank, count, ReduceOp.Sum);
        var ring = new float[count + 5];
        var native = new float[count];
        world.AllReduce<float>(input, ring, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 2048 });
        world.AllReduce<float>(input, native, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Native });
        Expect(ring.AsSpan(0, count).ToArray(), native, "out-of-place ring AllReduce vs MPI_Allreduce");
        Expect(input, TestData.Fill<float>(_rank, count, ReduceOp.Sum), "out-of-place AllReduce left its input alone", sameOnEveryRank: false);
    }

    /// <summary>
    /// Bytes: sums wrap around and Max compares unsigned on Ring and Tree. The native algorithm refuses bytes, since
    /// both installed MPI libraries reduce MPI_UINT8_T wrongly (see MpiNativeCollectives).
    /// </summary>
    private void Bytes()
    {
        const int count = 777;
        byte Value(int rank, int i) => (byte)((rank * 37 + i * 11) % 251);
        var sum = new byte[count];
        var max = new byte[count];
        for (int i = 0; i < count; i++)
            for (int r = 0; r < _size; r++)
            {
                sum[i] = unchecked((byte)(sum[i] + Value(r, i)));
                max[i] = Math.Max(max[i], Value(r, i));
            }
        foreach (var algorithm in new[] { AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree, AllReduceAlgorithm.Native })
            foreach (var (op, expected) in new[] { (ReduceOp.Sum, sum), (ReduceOp.Max, max) })
            {
                var data = new byte[count];
                for (int i = 0; i < count; i++) data[i] = Value(_rank, i);
                try
                {
                    world.AllReduce<byte>(data, op, new CollectiveOptions { Algorithm = algorithm });
                }
                catch (NotSupportedException e) when (algorithm == AllReduceAlgorithm.Native)
                {
                    Check(e.Message.Contains($"cannot reduce Byte with {op}"), $"native byte message: {e.Message}");
                    continue;
                }
                Check(algorithm != AllReduceAlgorithm.Native, $"MPI_Allreduce of bytes ({op}) was accepted");
                Expect(data, expected, $"AllReduce {algorithm} byte {op}");
            }
    }

    /// <summary>The direct AllReduce reads peers' buffers: processes cannot, so it is refused by name, and the next call still works.</summary>
    private void DirectIsRefusedAcrossProcesses()
    {
        var data = TestData.Fill<float>(_rank, 100, ReduceOp.Sum);
        try
        {
            world.AllReduce<float>(data, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Direct });
            Check(false, "the direct AllReduce was accepted across processes");
        }
        catch (NotSupportedException e)
        {
            Check(e.Message.Contains("only ranks in one address space"), $"direct AllReduce message: {e.Message}");
        }
        world.AllReduce<float>(data, ReduceOp.Sum);
        Expect(data, TestData.Reference<float>(_size, 100, ReduceOp.Sum), "AllReduce after the refused direct one");
    }

    private void Broadcasts()
    {
        foreach (int root in new[] { 0, _size - 1 })
            foreach (long count in new long[] { 0, 1, _size + 1, 4099, 100_000 })
            {
                var expected = TestData.Fill<double>(root, count, ReduceOp.Sum);
                var data = _rank == root ? expected.ToArray() : new double[count];
                world.Broadcast<double>(data, root, Small);
                Expect(data, expected, $"Broadcast from {root} count {count}");
            }
    }

    private void Reduces()
    {
        foreach (int root in new[] { 0, _size - 1 })
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max })
                foreach (long count in new long[] { 1, _size + 1, 4099 })
                {
                    var input = TestData.Fill<int>(_rank, count, op);
                    var result = new int[count];
                    world.Reduce<int>(input, result, op, root, Small);
                    if (_rank == root) Expect(result, TestData.Reference<int>(_size, count, op), $"Reduce {op} to {root} count {count}", sameOnEveryRank: false);
                }
    }

    private void AllGathers()
    {
        foreach (long k in new long[] { 0, 1, 3, 1000 })
        {
            var result = new long[k * _size];
            world.AllGather<long>(TestData.Fill<long>(_rank, k, ReduceOp.Sum), result, Small);
            var expected = Enumerable.Range(0, _size).SelectMany(r => TestData.Fill<long>(r, k, ReduceOp.Sum)).ToArray();
            Expect(result, expected, $"AllGather of {k} per rank");
        }
    }

    private void ReduceScatters()
    {
        foreach (long k in new long[] { 1, 5, 1000 })
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Min })
            {
                var input = TestData.Fill<float>(_rank, k * _size, op);
                var result = new float[k];
                world.ReduceScatter<float>(input, result, op, Small);
                var expected = TestData.Reference<float>(_size, k * _size, op).AsSpan((int)(k * _rank), (int)k).ToArray();
                Expect(result, expected, $"ReduceScatter {op} of {k} per rank", sameOnEveryRank: false);
            }
    }

    private void Barriers()
    {
        for (int i = 0; i < 5; i++) world.Barrier();
        Check(true, "barriers");
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
        var send = world.Isend<double>(TestData.Fill<double>(_rank, 3000, ReduceOp.Sum), next, 21);
        Request.WaitAll([receive, send], TimeSpan.FromSeconds(30));
        Expect(inbox, TestData.Fill<double>(previous, 3000, ReduceOp.Sum), "Isend/Irecv ring shift", sameOnEveryRank: false);
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

        // MPI's C interface has no 16-bit float: the native algorithm refuses Half on every rank, before any message.
        try
        {
            world.AllReduce<Half>(new Half[4], ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Native });
            Check(false, "MPI_Allreduce of Half was accepted");
        }
        catch (NotSupportedException e)
        {
            Check(e.Message.Contains("cannot reduce Half"), $"Half message: {e.Message}");
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

    /// <summary>Every rank folded the same results into its hash; gather them and compare.</summary>
    private void SameHashEverywhere()
    {
        var hashes = new long[_size];
        world.AllGather<long>([unchecked((long)_hash)], hashes);
        Check(hashes.All(h => h == hashes[0]), $"result hashes differ across ranks: {string.Join(", ", hashes.Select(h => h.ToString("x16")))}");
    }

    /// <summary>Compares bitwise; results that every rank holds (<paramref name="sameOnEveryRank"/>) also go into the hash.</summary>
    private void Expect<T>(T[] actual, T[] expected, string what, bool sameOnEveryRank = true) where T : unmanaged
    {
        if (sameOnEveryRank)
            foreach (byte b in MemoryMarshal.AsBytes(actual.AsSpan())) _hash = (_hash ^ b) * 1099511628211UL;
        _tally.Expect(actual, expected, what);
    }

    private void Check(bool ok, string what) => _tally.Check(ok, what);
}
