using AllReduceNet.Training.Data;
using AllReduceNet.Training.Federated;

namespace AllReduceNet.Training.Tests.Federated;

/// <summary>The client partitions: disjoint, complete, seeded, and skewed the way each scheme promises.</summary>
public class PartitionTests
{
    private static readonly Dataset Train = SyntheticDataset.Create(6000, 10, 4, 10, seed: 5).Train;

    private static void AssertEverySampleExactlyOnce(ClientPartition partition, int count)
    {
        var seen = new int[count];
        foreach (var client in partition.Clients)
            foreach (int sample in client) seen[sample]++;
        Assert.All(seen, n => Assert.Equal(1, n));
    }

    /// <summary>Mean over clients of the total-variation distance between the client's label distribution and the data's.</summary>
    private static double MeanLabelSkew(ClientPartition partition, Dataset data)
    {
        var global = new double[data.Classes];
        foreach (int label in data.Labels) global[label] += 1.0 / data.Count;
        return partition.Clients.Average(client =>
        {
            var local = new double[data.Classes];
            foreach (int sample in client) local[data.Labels[sample]] += 1.0 / client.Length;
            return 0.5 * local.Zip(global, (a, b) => Math.Abs(a - b)).Sum();
        });
    }

    [Fact]
    public void Iid_uses_every_sample_once_in_parts_that_differ_by_at_most_one()
    {
        var partition = ClientPartition.Create(Train, 7, PartitionSpec.Iid, seed: 1);
        AssertEverySampleExactlyOnce(partition, Train.Count);
        Assert.InRange(partition.Clients.Max(c => c.Length) - partition.Clients.Min(c => c.Length), 0, 1);
        Assert.True(MeanLabelSkew(ClientPartition.Create(Train, 20, PartitionSpec.Iid, 1), Train) < 0.15);
    }

    [Fact]
    public void Dirichlet_skews_labels_gives_unequal_sizes_and_uses_every_sample_once()
    {
        var skewed = ClientPartition.Create(Train, 20, PartitionSpec.Parse("dirichlet:0.5"), seed: 1);
        AssertEverySampleExactlyOnce(skewed, Train.Count);
        var sizes = skewed.Clients.Select(c => c.Length).ToArray();
        Assert.True(sizes.Max() > 2 * sizes.Min(), $"sizes {string.Join(",", sizes)} are not unequal");
        Assert.True(sizes.Min() >= ClientPartition.DirichletMinimumSamples);
        double skew = MeanLabelSkew(skewed, Train);
        double mild = MeanLabelSkew(ClientPartition.Create(Train, 20, PartitionSpec.Parse("dirichlet:100"), 1), Train);
        double iid = MeanLabelSkew(ClientPartition.Create(Train, 20, PartitionSpec.Iid, 1), Train);
        Assert.True(skew > 0.35, $"dirichlet:0.5 label skew {skew:F3} is too small");
        Assert.True(mild < skew && iid < skew, $"skew iid {iid:F3}, dirichlet:100 {mild:F3}, dirichlet:0.5 {skew:F3}");
    }

    [Fact]
    public void Shards_give_each_client_exactly_S_shards_of_one_label_each()
    {
        // 10 classes of 60 samples, labels in a shuffled order: 30 clients x 2 shards = 60 shards of 10, 6 per class.
        var labels = Enumerable.Range(0, 600).Select(i => i % 10).ToArray();
        new Random(3).Shuffle(labels);
        var data = new Dataset(new float[600], labels, 1, 10);
        var partition = ClientPartition.Create(data, 30, PartitionSpec.Parse("shards:2"), seed: 4);
        AssertEverySampleExactlyOnce(partition, data.Count);
        int distinctPairs = 0;
        foreach (var client in partition.Clients)
        {
            Assert.Equal(20, client.Length);
            var perLabel = client.GroupBy(s => labels[s]).Select(g => g.Count()).ToArray();
            // Each label's count is a whole number of shards, and they add up to 2 shards.
            Assert.All(perLabel, n => Assert.Equal(0, n % 10));
            Assert.Equal(2, perLabel.Sum(n => n / 10));
            if (perLabel.Length == 2) distinctPairs++;
        }
        Assert.True(distinctPairs > 15, "shards were not spread at random: most clients should hold two labels");
    }

    [Theory]
    [InlineData("iid")]
    [InlineData("dirichlet:0.3")]
    [InlineData("shards:2")]
    public void Partitions_are_a_pure_function_of_the_seed(string spec)
    {
        var a = ClientPartition.Create(Train, 25, PartitionSpec.Parse(spec), seed: 9);
        var b = ClientPartition.Create(Train, 25, PartitionSpec.Parse(spec), seed: 9);
        var c = ClientPartition.Create(Train, 25, PartitionSpec.Parse(spec), seed: 10);
        Assert.Equal(a.Clients, b.Clients);
        Assert.NotEqual(a.Clients, c.Clients);
    }

    [Theory]
    [InlineData("dirichlet", "needs a positive concentration")]
    [InlineData("dirichlet:-1", "needs a positive concentration")]
    [InlineData("shards:0", "whole number of shards")]
    [InlineData("shards:x", "whole number of shards")]
    [InlineData("pathological", "--partition 'pathological' is unknown")]
    public void Bad_partition_specs_are_refused_by_name(string spec, string expected)
    {
        var error = Assert.Throws<TrainingException>(() => PartitionSpec.Parse(spec));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void More_clients_than_samples_or_shards_is_refused()
    {
        var small = SyntheticDataset.Create(50, 10, 4, 3, seed: 1).Train;
        Assert.Contains("--clients 60 exceeds the 50 training samples", Assert.Throws<TrainingException>(() => ClientPartition.Create(small, 60, PartitionSpec.Iid, 1)).Message);
        Assert.Contains("needs 60 shards", Assert.Throws<TrainingException>(() => ClientPartition.Create(small, 30, PartitionSpec.Parse("shards:2"), 1)).Message);
    }
}
