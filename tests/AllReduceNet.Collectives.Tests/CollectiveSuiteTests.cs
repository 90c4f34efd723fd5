using AllReduceNet.Collectives.Suite;

namespace AllReduceNet.Collectives.Tests;

/// <summary>
/// The collective suite (<see cref="CaseMatrix"/>) bound to the in-process transport: one row per collective x
/// algorithm x element type x world size, each one world that runs every operator, count, segment size and in/out of
/// place case of the row on every rank.
/// </summary>
public class CollectiveSuiteTests
{
    public static IEnumerable<object[]> Rows() =>
        from ranks in CaseMatrix.WorldSizes
        from row in CaseMatrix.Standard(ranks, SuiteTransport.InProcess).Select(c => (c.Collective, c.Algorithm, c.Type)).Distinct()
        select new object[] { row.Collective, row.Algorithm, row.Type, ranks };

    [Theory]
    [MemberData(nameof(Rows))]
    public void MatchesTheSequentialReferenceBitwiseIdenticallyOnEveryRank(Collective collective, AllReduceAlgorithm algorithm, ElementKind type, int ranks)
    {
        var cases = CaseMatrix.Standard(ranks, SuiteTransport.InProcess)
            .Where(c => c.Collective == collective && c.Algorithm == algorithm && c.Type == type).ToList();
        AssertPassed(World.Run(ranks, comm => CaseRunner.RunAll(comm, cases)));
    }

    /// <summary>Several megabytes: many segments per chunk and an uneven tail; 16 ranks with small segments; hundreds of megabytes.</summary>
    [Theory]
    [InlineData(AllReduceAlgorithm.Ring, 2)]
    [InlineData(AllReduceAlgorithm.Ring, 3)]
    [InlineData(AllReduceAlgorithm.Ring, 8)]
    [InlineData(AllReduceAlgorithm.Tree, 3)]
    [InlineData(AllReduceAlgorithm.Tree, 8)]
    [InlineData(AllReduceAlgorithm.RecursiveDoubling, 5)]
    [InlineData(AllReduceAlgorithm.RecursiveHalving, 6)]
    [InlineData(AllReduceAlgorithm.Direct, 2)]
    [InlineData(AllReduceAlgorithm.Direct, 8)]
    [InlineData(AllReduceAlgorithm.Auto, 4)]
    public void LargeMessages(AllReduceAlgorithm algorithm, int ranks) =>
        AssertPassed(World.Run(ranks, comm => CaseRunner.RunAll(comm, CaseMatrix.Large(algorithm, (1 << 20) + 3))));

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(16)]
    public void SizableMessagesOfTheOtherCollectives(int ranks) =>
        AssertPassed(World.Run(ranks, comm => CaseRunner.RunAll(comm, CaseMatrix.SizableOthers(ranks))));

    [Fact]
    public void SixteenRanksLargeUnevenCountInSmallSegments() =>
        AssertPassed(World.Run(16, comm => CaseRunner.RunAll(comm,
            [new(Collective.AllReduce, ElementKind.Double, ReduceOp.Sum, 100_003, InPlace: true, SegmentBytes: 4096)])));

    [Fact]
    public void HundredsOfMegabytes() =>
        AssertPassed(World.Run(2, comm => CaseRunner.RunAll(comm,
            [new(Collective.AllReduce, ElementKind.Int, ReduceOp.Sum, 300 << 20 >> 2, InPlace: true)])));

    internal static void AssertPassed(List<string>[] failuresPerRank)
    {
        var failures = failuresPerRank.SelectMany(f => f).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} failures; the first:\n{string.Join("\n", failures.Take(20))}");
    }
}
