using System.Numerics;

namespace AllReduceNet.Collectives.Tests;

/// <summary>Broadcast, Reduce, AllGather, ReduceScatter and Barrier against sequential references, in-process.</summary>
public class OtherCollectivesTests
{
    public static IEnumerable<object[]> Types() => new[] { "float", "double", "int", "long", "Half" }.Select(t => new object[] { t });

    public static IEnumerable<object[]> TypesAndOps() =>
        from type in new[] { "float", "double", "int", "long", "Half" }
        from op in Enum.GetValues<ReduceOp>()
        select new object[] { type, op };

    [Theory]
    [MemberData(nameof(Types))]
    public void BroadcastCopiesTheRootsDataEverywhere(string type) => Dispatch(type, new BroadcastCheck());

    [Theory]
    [MemberData(nameof(TypesAndOps))]
    public void ReduceDeliversTheReductionAtTheRoot(string type, ReduceOp op) => Dispatch(type, new ReduceCheck(op));

    [Theory]
    [MemberData(nameof(Types))]
    public void AllGatherPlacesEachRanksBlockInOrder(string type) => Dispatch(type, new AllGatherCheck());

    [Theory]
    [MemberData(nameof(TypesAndOps))]
    public void ReduceScatterGivesEachRankItsReducedBlock(string type, ReduceOp op) => Dispatch(type, new ReduceScatterCheck(op));

    private interface ICheck { void Run<T>() where T : unmanaged, INumber<T>; }

    private static void Dispatch(string type, ICheck check)
    {
        switch (type)
        {
            case "float": check.Run<float>(); break;
            case "double": check.Run<double>(); break;
            case "int": check.Run<int>(); break;
            case "long": check.Run<long>(); break;
            case "Half": check.Run<Half>(); break;
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    private static IEnumerable<(int Ranks, int Count, int Root, CollectiveOptions Options)> Matrix()
    {
        foreach (int ranks in TestData.WorldSizes)
        foreach (int count in TestData.EdgeCounts(ranks))
        foreach (int? segment in new int?[] { 64, null })
        {
            int root = (count + ranks / 2) % ranks; // roots vary: 0, middle, last
            yield return (ranks, count, root, new CollectiveOptions { SegmentBytes = segment });
        }
    }

    private sealed class BroadcastCheck : ICheck
    {
        public void Run<T>() where T : unmanaged, INumber<T>
        {
            foreach (var (ranks, count, root, options) in Matrix())
            {
                var results = World.Run(ranks, comm =>
                {
                    var data = comm.Rank == root ? TestData.Input<T>(root, count, ReduceOp.Max) : new T[count];
                    comm.Broadcast<T>(data, root, options);
                    return data;
                });
                var expected = TestData.Input<T>(root, count, ReduceOp.Max);
                for (int r = 0; r < ranks; r++) Assert.Equal(expected, results[r]);
            }
        }
    }

    private sealed class ReduceCheck(ReduceOp op) : ICheck
    {
        public void Run<T>() where T : unmanaged, INumber<T>
        {
            foreach (var (ranks, count, root, options) in Matrix())
            {
                bool inPlace = count % 2 == 0;
                var results = World.Run(ranks, comm =>
                {
                    var input = TestData.Input<T>(comm.Rank, count, op);
                    if (inPlace)
                    {
                        comm.Reduce<T>(input, op, root, options);
                        if (comm.Rank != root) Assert.Equal(TestData.Input<T>(comm.Rank, count, op), input); // non-roots keep their data
                        return input;
                    }
                    var result = comm.Rank == root ? new T[count] : Array.Empty<T>();
                    comm.Reduce<T>(input, result, op, root, options);
                    Assert.Equal(TestData.Input<T>(comm.Rank, count, op), input);
                    return result;
                });
                TestData.AssertClose(TestData.Reference<T>(ranks, count, op), results[root], ranks, op, $"Reduce {op} {typeof(T).Name} N={ranks} count={count} root={root}");
            }
        }
    }

    private sealed class AllGatherCheck : ICheck
    {
        public void Run<T>() where T : unmanaged, INumber<T>
        {
            foreach (var (ranks, count, _, options) in Matrix())
            {
                bool inPlace = count % 2 == 0;
                var results = World.Run(ranks, comm =>
                {
                    var mine = TestData.Input<T>(comm.Rank, count, ReduceOp.Max);
                    var all = new T[count * ranks];
                    if (inPlace)
                    {
                        mine.CopyTo(all, count * comm.Rank);
                        comm.AllGather<T>(all.AsSpan(), options);
                    }
                    else comm.AllGather<T>(mine, all, options);
                    return all;
                });
                var expected = Enumerable.Range(0, ranks).SelectMany(r => TestData.Input<T>(r, count, ReduceOp.Max)).ToArray();
                for (int r = 0; r < ranks; r++) Assert.Equal(expected, results[r]);
            }
        }
    }

    private sealed class ReduceScatterCheck(ReduceOp op) : ICheck
    {
        public void Run<T>() where T : unmanaged, INumber<T>
        {
            foreach (var (ranks, count, _, options) in Matrix())
            {
                bool inPlace = count % 2 == 0;
                var results = World.Run(ranks, comm =>
                {
                    var input = TestData.Input<T>(comm.Rank, count * ranks, op);
                    if (inPlace)
                    {
                        comm.ReduceScatter<T>(input.AsSpan(), op, options);
                        return input.AsSpan(count * comm.Rank, count).ToArray();
                    }
                    var result = new T[count];
                    comm.ReduceScatter<T>(input, result, op, options);
                    return result;
                });
                var full = TestData.Reference<T>(ranks, count * ranks, op);
                for (int r = 0; r < ranks; r++)
                {
                    // The bound of element i depends on the inputs at i: compare block r against the full reference.
                    var padded = new T[count * ranks];
                    results[r].CopyTo(padded, count * r);
                    var expectedBlock = full.AsSpan(count * r, count).ToArray();
                    for (int i = 0; i < count; i++)
                    {
                        double diff = Math.Abs(double.CreateChecked(expectedBlock[i]) - double.CreateChecked(results[r][i]));
                        double bound = TestData.Bound<T>(ranks, count * r + i, op);
                        Assert.True(TestData.IsExact<T>(op) ? expectedBlock[i].Equals(results[r][i]) : diff <= bound,
                            $"ReduceScatter {op} {typeof(T).Name} N={ranks} count={count} rank {r} element {i}: {results[r][i]} vs {expectedBlock[i]}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(16)]
    public void NoRankLeavesTheBarrierBeforeAllArrived(int ranks)
    {
        int arrived = 0;
        var seen = World.Run(ranks, comm =>
        {
            var observed = new List<int>();
            for (int round = 1; round <= 5; round++)
            {
                Thread.Sleep(comm.Rank % 3); // uneven arrival
                Interlocked.Increment(ref arrived);
                comm.Barrier();
                observed.Add(Volatile.Read(ref arrived));
                comm.Barrier(); // nobody starts the next round before everyone has looked
            }
            return observed;
        });
        for (int r = 0; r < ranks; r++)
            for (int round = 1; round <= 5; round++)
                Assert.Equal(round * ranks, seen[r][round - 1]);
    }
}
