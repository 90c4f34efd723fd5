using AllReduceNet.Privacy.SecureAggregation;

namespace AllReduceNet.Privacy.Tests;

public class NeighbourGraphTests
{
    [Theory]
    [InlineData(5, 2)]
    [InlineData(30, 6)]
    [InlineData(101, 16)]
    public void SecAggPlusGraphIsKRegularSymmetricAndSeeded(int n, int k)
    {
        var ids = Enumerable.Range(0, n).Select(i => 2 * i + 3).ToArray();
        var graph = NeighbourGraph.Build(ids, k, 11);
        foreach (int u in ids)
        {
            var neighbours = graph.Of(u);
            Assert.Equal(k, neighbours.Length);
            Assert.DoesNotContain(u, neighbours);
            Assert.Equal(k, neighbours.Distinct().Count());
            Assert.All(neighbours, v => Assert.True(graph.AreNeighbours(v, u), $"{u} -> {v} but not back"));
        }
        Assert.Equal(graph.Of(ids[0]), NeighbourGraph.Build(ids, k, 11).Of(ids[0]));
        // Another seed gives another graph (a 5-cycle has only 12 labelings, so small n may repeat by chance).
        if (n >= 30) Assert.Contains(ids, u => !graph.Of(u).SequenceEqual(NeighbourGraph.Build(ids, k, 12).Of(u)));
    }

    [Fact]
    public void FullSecAggAndLargeKAreTheCompleteGraph()
    {
        var ids = new[] { 1, 4, 9, 16 };
        foreach (int? k in new int?[] { null, 4, 8 })
        {
            var graph = NeighbourGraph.Build(ids, k, 0);
            Assert.All(ids, u => Assert.Equal(ids.Where(v => v != u), graph.Of(u)));
        }
    }
}
