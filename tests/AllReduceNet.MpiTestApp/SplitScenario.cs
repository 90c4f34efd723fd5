using AllReduceNet.Collectives;
using AllReduceNet.Collectives.Suite;
using AllReduceNet.Collectives.Transports.Mpi;

namespace AllReduceNet.MpiTestApp;

/// <summary>
/// Sub-communicators under MPI. Each communicator has a collectives channel of its own (its own shared-memory queues
/// when the world's ranks share the node), so collectives on the two halves of the world, on the world between them,
/// on both at once, and on a split whose ranks are numbered backwards must neither cross nor misroute their messages.
/// Each group's data has a seed of its own, so a message that reached the wrong group would be caught by
/// <see cref="CaseRunner"/>'s reference; rank 0 prints a summary.
/// </summary>
internal sealed class SplitScenario(Communicator world)
{
    private const int WorldSeed = 0, ReversedSeed = 3, AloneSeed = 4;
    private readonly int _rank = world.Rank;
    private readonly int _size = world.Size;
    private readonly Tally _tally = new(world.Rank);

    public int Run()
    {
        bool shared = world.TransportName.Contains("shared memory");

        // Halves: 4 ranks give {0, 1} and {2, 3}, in world order.
        int color = _rank < _size / 2 ? 0 : 1, halfSeed = 1 + color;
        int[] members = Enumerable.Range(0, _size).Where(r => (r < _size / 2 ? 0 : 1) == color).ToArray();
        var half = world.Split(color, _rank)!;
        Check(half.Size == members.Length && half.Rank == Array.IndexOf(members, _rank),
            $"half: rank {half.Rank} of {half.Size}, expected {Array.IndexOf(members, _rank)} of {members.Length}");
        Check(half.TransportName.Contains("shared memory") == (shared && half.Size > 1),
            $"half's transport '{half.TransportName}' where the world's is '{world.TransportName}'");

        // Alternate between the halves and the world, with messages of many segments each way.
        foreach (var algorithm in new[] { AllReduceAlgorithm.Ring, AllReduceAlgorithm.Tree })
        {
            foreach (int count in new[] { 1, 3, 1000 * _size + 37, 100_003 })
            {
                Run(half, new(Collective.AllReduce, ElementKind.Float, ReduceOp.Sum, count, true, algorithm, 4096, Seed: halfSeed));
                Run(world, new(Collective.AllReduce, ElementKind.Double, ReduceOp.Average, count, true, algorithm, 4096, Seed: WorldSeed));
                Run(half, new(Collective.AllReduce, ElementKind.Int, ReduceOp.Max, count + 1, false, Seed: halfSeed));
            }
            Run(half, new(Collective.Broadcast, ElementKind.Double, ReduceOp.Sum, 20_011, true, SegmentBytes: 2048, Root: half.Size - 1, Seed: halfSeed));
            Run(world, new(Collective.AllGather, ElementKind.Long, ReduceOp.Sum, 777, false, SegmentBytes: 1024, Seed: WorldSeed));
            Run(half, new(Collective.AllGather, ElementKind.Long, ReduceOp.Sum, 1001, false, SegmentBytes: 1024, Seed: halfSeed));
        }

        // Both at once: the world's non-blocking AllReduce runs on its progress thread while this thread runs the
        // half's collectives, each driving its own queues.
        var ring = new CollectiveOptions { Algorithm = AllReduceAlgorithm.Ring, SegmentBytes = 4096 };
        var worldData = TestValues.Input<double>(_rank, 50_001, ReduceOp.Sum, WorldSeed);
        var worldWork = world.StartAllReduce<double>(worldData, ReduceOp.Sum, ring);
        var halfData = TestValues.Input<float>(half.Rank, 70_001, ReduceOp.Min, halfSeed);
        var halfWork = half.StartAllReduce<float>(halfData, ReduceOp.Min, ring);
        Run(half, new(Collective.AllReduce, ElementKind.Long, ReduceOp.Sum, 30_001, true, AllReduceAlgorithm.Ring, 4096, Seed: halfSeed));
        halfWork.Wait();
        worldWork.Wait();
        Expect(TestValues.CheckReduced<double>(worldData, TestValues.Ranks(_size), ReduceOp.Sum, WorldSeed), "non-blocking world AllReduce beside the half's");
        Expect(TestValues.CheckReduced<float>(halfData, TestValues.Ranks(half.Size), ReduceOp.Min, halfSeed), "non-blocking half AllReduce beside the world's");

        // Ranks numbered backwards: rank r of the world is rank size-1-r here, so its queues are another rank's.
        using (var reversed = world.Split(0, -_rank)!)
        {
            Check(reversed.Size == _size && reversed.Rank == _size - 1 - _rank, $"reversed split: rank {reversed.Rank} of {reversed.Size}");
            Run(reversed, new(Collective.AllReduce, ElementKind.Float, ReduceOp.Sum, 100_003, true, AllReduceAlgorithm.Ring, 4096, Seed: ReversedSeed));
            Run(reversed, new(Collective.AllReduce, ElementKind.Double, ReduceOp.Prod, 4099, true, AllReduceAlgorithm.Tree, 4096, Seed: ReversedSeed));
            Run(reversed, new(Collective.ReduceScatter, ElementKind.Float, ReduceOp.Sum, 5001, false, SegmentBytes: 1024, Seed: ReversedSeed));
        }

        // A split of the half into single ranks: no queues there, and a collective of one rank is the identity.
        using (var alone = half.Split(half.Rank, 0)!)
        {
            Check(alone.Size == 1 && !alone.TransportName.Contains("shared memory"), $"a one-rank split: {alone.Size} ranks, '{alone.TransportName}'");
            Run(alone, new(Collective.AllReduce, ElementKind.Float, ReduceOp.Sum, 1000, true, AllReduceAlgorithm.Ring, 4096, Seed: AloneSeed));
        }

        // The world again, once its halves are gone.
        half.Dispose();
        Run(world, new(Collective.AllReduce, ElementKind.Float, ReduceOp.Sum, 100_003, true, AllReduceAlgorithm.Ring, 4096, Seed: WorldSeed));
        Run(world, new(Collective.AllReduce, ElementKind.Long, ReduceOp.Min, 1000 * _size + 37, true, AllReduceAlgorithm.Tree, 4096, Seed: WorldSeed));

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

    private void Run(Communicator comm, CollectiveCase c) => Expect(CaseRunner.Run(comm, c), $"on a communicator of {comm.Size}");

    private void Expect(string? failure, string what) => _tally.Check(failure is null, $"{what}: {failure}");

    private void Check(bool ok, string what) => _tally.Check(ok, what);
}
