using System.Numerics;
using System.Runtime.InteropServices;
using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// Sub-communicators under MPI. Each communicator has a collectives channel of its own (its own shared-memory queues
/// when the world's ranks share the node), so collectives on the two halves of the world, on the world between them,
/// on both at once, and on a split whose ranks are numbered backwards must neither cross nor misroute their messages.
/// Every result is compared bit for bit with a reference reduced over the members' data; rank 0 prints a summary.
/// </summary>
internal sealed class SplitScenario(Communicator world)
{
    private readonly int _rank = world.Rank;
    private readonly int _size = world.Size;
    private readonly Tally _tally = new(world.Rank);

    public int Run()
    {
        bool shared = world.TransportName.Contains("shared memory");
        int[] everyone = Enumerable.Range(0, _size).ToArray();

        // Halves: 4 ranks give {0, 1} and {2, 3}, in world order.
        int Color(int r) => r < _size / 2 ? 0 : 1;
        int[] members = everyone.Where(r => Color(r) == Color(_rank)).ToArray();
        var half = world.Split(Color(_rank), _rank)!;
        Check(half.Size == members.Length && half.Rank == Array.IndexOf(members, _rank),
            $"half: rank {half.Rank} of {half.Size}, expected {Array.IndexOf(members, _rank)} of {members.Length}");
        Check(half.TransportName.Contains("shared memory") == (shared && half.Size > 1),
            $"half's transport '{half.TransportName}' where the world's is '{world.TransportName}'");

        // Alternate between the halves and the world, with messages of many segments each way.
        long[] counts = [1, 3, 1000 * _size + 37, 100_003];
        var ring = new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 4096 };
        var tree = new CollectiveOptions { Algorithm = AllReduceAlgorithm.Tree, SegmentBytes = 4096 };
        for (int round = 0; round < 2; round++)
        {
            var options = round == 0 ? ring : tree;
            foreach (long count in counts)
            {
                AllReduce<float>(half, members, ReduceOp.Sum, count, options, "half");
                AllReduce<double>(world, everyone, ReduceOp.Average, count, options, "world");
                AllReduce<int>(half, members, ReduceOp.Max, count + 1, null, "half");
            }
            var expected = TestData.Fill<double>(members[^1], 20_011, ReduceOp.Sum);
            var data = half.Rank == half.Size - 1 ? expected.ToArray() : new double[20_011];
            half.Broadcast<double>(data, half.Size - 1, new CollectiveOptions { SegmentBytes = 2048 });
            Expect(data, expected, $"half Broadcast from its last rank (round {round})");
            AllGather(world, everyone, 777, "world");
            AllGather(half, members, 1001, "half");
        }

        // Both at once: the world's non-blocking AllReduce runs on its progress thread while this thread runs the
        // half's collectives, each driving its own queues.
        var worldData = TestData.Fill<double>(_rank, 50_001, ReduceOp.Sum);
        var worldWork = world.StartAllReduce<double>(worldData, ReduceOp.Sum, ring);
        var halfData = TestData.Fill<float>(_rank, 70_001, ReduceOp.Min);
        var halfWork = half.StartAllReduce<float>(halfData, ReduceOp.Min, ring);
        AllReduce<long>(half, members, ReduceOp.Sum, 30_001, ring, "half, while the world's AllReduce is in flight");
        halfWork.Wait();
        worldWork.Wait();
        Expect(worldData, TestData.Reference<double>(everyone, 50_001, ReduceOp.Sum), "non-blocking world AllReduce beside the half's");
        Expect(halfData, TestData.Reference<float>(members, 70_001, ReduceOp.Min), "non-blocking half AllReduce beside the world's");

        // Ranks numbered backwards: rank r of the world is rank size-1-r here, so its queues are another rank's.
        int[] backwards = everyone.Reverse().ToArray();
        using (var reversed = world.Split(0, -_rank)!)
        {
            Check(reversed.Size == _size && reversed.Rank == _size - 1 - _rank, $"reversed split: rank {reversed.Rank} of {reversed.Size}");
            AllReduce<float>(reversed, backwards, ReduceOp.Sum, 100_003, ring, "reversed");
            AllReduce<double>(reversed, backwards, ReduceOp.Prod, 4099, tree, "reversed");
            const int k = 5001;
            var input = TestData.Fill<float>(_rank, k * _size, ReduceOp.Sum);
            var mine = new float[k];
            reversed.ReduceScatter<float>(input, mine, ReduceOp.Sum, new CollectiveOptions { SegmentBytes = 1024 });
            Expect(mine, TestData.Reference<float>(backwards, k * _size, ReduceOp.Sum).AsSpan(k * reversed.Rank, k).ToArray(),
                "ReduceScatter on the reversed split");
        }

        // A split of the half into single ranks: no queues there, and a collective of one rank is the identity.
        using (var alone = half.Split(half.Rank, 0)!)
        {
            Check(alone.Size == 1 && !alone.TransportName.Contains("shared memory"), $"a one-rank split: {alone.Size} ranks, '{alone.TransportName}'");
            AllReduce<float>(alone, [_rank], ReduceOp.Sum, 1000, ring, "one rank");
        }

        // The world again, once its halves are gone.
        half.Dispose();
        AllReduce<float>(world, everyone, ReduceOp.Sum, 100_003, ring, "world, after the halves were freed");
        AllReduce<long>(world, everyone, ReduceOp.Min, 1000 * _size + 37, tree, "world, after the halves were freed");

        long[] totals = [_tally.Failures, _tally.Checks];
        world.AllReduce<long>(totals, ReduceOp.Sum, new CollectiveOptions { Algorithm = AllReduceAlgorithm.Native });
        if (_rank == 0)
        {
            var shm = (world.Transport as MpiTransport)?.SharedMemory;
            Console.WriteLine($"MPI SPLITS transport='{world.TransportName}' shm-slots={(shm is null ? "none" : $"{shm.SlotCount}x{shm.SlotBytes}")} " +
                              $"ranks={_size} checks={totals[1]} failures={totals[0]}");
            Console.WriteLine(totals[0] == 0 ? "MPI SPLITS PASSED" : "MPI SPLITS FAILED");
        }
        return (int)totals[0];
    }

    private void AllReduce<T>(Communicator comm, int[] members, ReduceOp op, long count, CollectiveOptions? options, string where)
        where T : unmanaged, INumber<T>
    {
        var data = TestData.Fill<T>(members[comm.Rank], count, op);
        comm.AllReduce<T>(data, op, options);
        Expect(data, TestData.Reference<T>(members, count, op),
            $"AllReduce on the {where} ({comm.Size} ranks) {options?.Algorithm ?? AllReduceAlgorithm.Auto} {typeof(T).Name} {op} count {count}");
    }

    private void AllGather(Communicator comm, int[] members, long k, string where)
    {
        var result = new long[k * comm.Size];
        comm.AllGather<long>(TestData.Fill<long>(members[comm.Rank], k, ReduceOp.Sum), result, new CollectiveOptions { SegmentBytes = 1024 });
        var expected = members.SelectMany(r => TestData.Fill<long>(r, k, ReduceOp.Sum)).ToArray();
        Expect(result, expected, $"AllGather on the {where} of {k} per rank");
    }

    private void Expect<T>(T[] actual, T[] expected, string what) where T : unmanaged => _tally.Expect(actual, expected, what);

    private void Check(bool ok, string what) => _tally.Check(ok, what);
}
